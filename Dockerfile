# One image for the API, the workers and the Cloudauth/OSS emulators; the command picks the role:
#   docker run IMAGE api | worker | emulator | all
# Two stages: `build` compiles the TypeScript (tsc, then the non-TS assets next to the JS); the
# runtime stage holds production dependencies, the compiled dist/ and bin/ only (no sources, no
# tsx) and runs as the unprivileged `node` user. test/unit/deploy-files.test.ts checks these
# properties by parsing this file (no Docker engine was available to build it).

FROM node:24.22.3-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# package.json "allowScripts" lets no dependency run an install script (esbuild and
# msgpackr-extract are refused, and sharp takes its prebuilt binaries from optional dependencies,
# without a script); npm 11 only warns about that list, so --ignore-scripts enforces it here.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY workers ./workers
RUN npm run build

FROM node:24.22.3-bookworm-slim AS runtime
# NODE_ENV=production makes the orchestrator resolve ORCHESTRATOR_MODE to `production` when it is
# unset: it then refuses to start without a real Cloudauth endpoint, credentials and secrets.
# HEALTHCHECK_URL is the readiness URL the health check reads: the API's by default; set it to
# http://127.0.0.1:9464/readyz for `worker` (WORKER_OPS_PORT) and http://127.0.0.1:8787/readyz
# for `emulator` (EMULATOR_CLOUDAUTH_PORT).
ENV NODE_ENV=production \
    HEALTHCHECK_URL=http://127.0.0.1:8080/readyz
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only. Optional dependencies stay: they carry sharp's prebuilt libvips
# and msgpackr's native extension for this platform.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
# /app/data: the default place of embedded mode's files (data/*.key, data/*.token); writable by
# node. /app/secrets: where docker-compose points ENCRYPTION_KEY_FILE, WEBHOOK_SECRET_FILE and
# API_TOKEN_FILE, on a named volume shared by the api and worker containers. A named volume is
# created empty and root-owned, unless it is first mounted on a directory that exists in the image:
# then Docker copies that directory's contents, owner and mode into the new volume. Creating
# /app/secrets here, owned by node with mode 0700, is what makes the shared volume writable by the
# node user (and unreadable by anyone else) on first use. /app/staging: docker-compose's
# STAGING_DIR, the photos waiting (encrypted) between the api and the workers, made the same way.
RUN mkdir -p /app/data /app/secrets /app/staging \
    && chown node:node /app/data /app/secrets /app/staging \
    && chmod 0700 /app/data /app/secrets /app/staging
USER node
# 8080: HTTP API (api, all); 9464: a worker's /healthz /readyz /metrics; 8787 and 8788: the
# Cloudauth and OSS emulators (emulator).
EXPOSE 8080 9464 8787 8788
STOPSIGNAL SIGTERM
# Node's built-in fetch, as the slim image has no curl or wget: exit 0 on a 2xx from /readyz,
# 1 on anything else, a refused connection or no answer within 4 s.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "-e", "fetch(process.env.HEALTHCHECK_URL,{signal:AbortSignal.timeout(4000)}).then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "/app/bin/cloudauth-orchestrator.js"]
CMD ["api"]
