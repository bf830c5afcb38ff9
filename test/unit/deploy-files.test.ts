/**
 * The deployment files, read and checked without a Docker engine or a Prometheus (there is none on
 * the development machine, so the image and the compose file were never built or run): the
 * Dockerfile (stages, pinned bases, non-root user, health check, compiled code only, start commands
 * that resolve to files the build stage produces), docker-compose.yml (pinned images, health checks,
 * healthy dependencies, one role per service, secrets on a volume the image's user owns) and the
 * Prometheus rules in deploy/prometheus/ (every metric they name is one the orchestrator registers).
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CONFIG_KEYS, loadConfig } from '../../src/config.js';
import { ERROR_CODES } from '../../src/errors.js';
import { WEBHOOK_QUEUE } from '../../src/webhooks/publisher.js';
import { Telemetry, WEBHOOK_OUTCOMES } from '../../src/ops/metrics.js';
import { TICKET_QUEUE } from '../../src/adapters/bullmq/queues.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const isRepoFile = (file: string) =>
  statSync(path.join(ROOT, file), { throwIfNoEntry: false })?.isFile() ?? false;

/** The process roles: `cloudauth-orchestrator api|worker|emulator|all` (src/cli). */
const ROLES = ['api', 'worker', 'emulator', 'all'] as const;
type Role = (typeof ROLES)[number];
const isRole = (s: string): s is Role => (ROLES as readonly string[]).includes(s);

/** Where each role serves /healthz, /readyz and /metrics: its host and port configuration keys. */
const OPS_ENDPOINT: Record<Role, { host: string; port: string }> = {
  api: { host: 'API_HOST', port: 'API_PORT' },
  all: { host: 'API_HOST', port: 'API_PORT' },
  worker: { host: 'WORKER_OPS_HOST', port: 'WORKER_OPS_PORT' },
  emulator: { host: 'EMULATOR_HOST', port: 'EMULATOR_CLOUDAUTH_PORT' },
};

/** The default of a configuration key, from the one schema in src/config.ts. */
function configDefault(key: string): string | undefined {
  const spec = (CONFIG_KEYS as Record<string, { default: string | undefined } | undefined>)[key];
  if (!spec) throw new Error(`${key} is not a configuration key`);
  return spec.default;
}

// ---------------------------------------------------------------------------------------------
// Dockerfile. A parser of our own rather than a dependency for one test: the subset the
// Dockerfile uses (comments, `\` continuations, flags, exec form, stages) takes a few lines.
// Heredocs and ARG substitution are not supported, and not used.

interface Instruction {
  keyword: string;
  args: string;
  line: number;
  /** The WORKDIR in effect at this instruction. */
  cwd: string;
}

interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  let pending: { line: number; parts: string[] } | undefined;
  const emit = (line: number, source: string) => {
    const m = /^(\w+)\s+([\s\S]*)$/.exec(source);
    if (!m?.[1] || m[2] === undefined)
      throw new Error(`Dockerfile line ${line}: cannot read "${source}"`);
    const keyword = m[1].toUpperCase();
    const args = m[2].trim();
    if (keyword === 'FROM') {
      const from = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from?.[1]) throw new Error(`Dockerfile line ${line}: bad FROM`);
      stages.push({ image: from[1], name: from[2], instructions: [] });
      return;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`Dockerfile line ${line}: ${keyword} before FROM`);
    const prev = stage.instructions.at(-1)?.cwd ?? '/';
    const cwd = keyword === 'WORKDIR' ? path.posix.resolve(prev, args) : prev;
    stage.instructions.push({ keyword, args, line, cwd });
  };
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    // Comment and blank lines are dropped, also inside a continuation, as Docker does.
    if (/^\s*#/.test(line) || line.trim() === '') return;
    const continues = /\\\s*$/.test(line);
    const part = line.replace(/\\\s*$/, '').trim();
    pending ??= { line: i + 1, parts: [] };
    if (part !== '') pending.parts.push(part);
    if (!continues) {
      emit(pending.line, pending.parts.join(' '));
      pending = undefined;
    }
  });
  if (pending) throw new Error('Dockerfile ends inside a continuation');
  return stages;
}

/** The exec (JSON) form of an instruction's arguments, or undefined for the shell form. */
function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  return z.array(z.string()).parse(JSON.parse(args));
}

/** Leading `--flag=value` options, and what follows them. */
function splitFlags(args: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = args;
  const flag = /^--([\w-]+)(?:=(\S*))?\s+/;
  let m: RegExpExecArray | null;
  while ((m = flag.exec(rest))) {
    flags[m[1] ?? ''] = m[2] ?? '';
    rest = rest.slice(m[0].length);
  }
  return { flags, rest };
}

interface Copy {
  from: string | undefined;
  sources: string[];
  dest: string;
  cwd: string;
  index: number;
}

function copiesOf(stage: Stage): Copy[] {
  return stage.instructions.flatMap((ins, index) => {
    if (ins.keyword !== 'COPY' && ins.keyword !== 'ADD') return [];
    const { flags, rest } = splitFlags(ins.args);
    const words = execForm(rest) ?? rest.split(/\s+/);
    const dest = words.at(-1) ?? '';
    return [{ from: flags.from, sources: words.slice(0, -1), dest, cwd: ins.cwd, index }];
  });
}

/**
 * Where the file at absolute `target` in `stage` comes from: the build context (`from` undefined,
 * a repository path) or another stage (its absolute path there). Only COPYs before `before` count.
 * Sources in another stage are taken for directories (`COPY --from=build /app/dist ./dist`).
 */
function copiedFrom(
  stage: Stage,
  target: string,
  before = Infinity,
): { from: string | undefined; path: string } | undefined {
  const copies = copiesOf(stage).filter((c) => c.index < before);
  for (const c of copies.reverse()) {
    const dest = path.posix.resolve(c.cwd, c.dest);
    const destIsDir = c.dest.endsWith('/') || c.dest === '.' || c.sources.length > 1;
    for (const source of c.sources) {
      if (c.from === undefined && isRepoFile(source)) {
        const at = destIsDir ? path.posix.join(dest, path.posix.basename(source)) : dest;
        if (at === target) return { from: undefined, path: source };
      } else if (target.startsWith(`${dest}/`)) {
        return { from: c.from, path: path.posix.join(source, path.posix.relative(dest, target)) };
      }
    }
  }
  return undefined;
}

/** `ENV` assignments of a stage (`K=V` pairs; values without quotes or spaces). */
function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const ins of stage.instructions.filter((i) => i.keyword === 'ENV')) {
    for (const pair of ins.args.split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

const runsOf = (stage: Stage) => stage.instructions.filter((i) => i.keyword === 'RUN');
const last = (stage: Stage, keyword: string) =>
  stage.instructions.filter((i) => i.keyword === keyword).at(-1);

/**
 * Whether `stage` creates directory `dir` and gives it to the node user, as root (before its
 * first USER): a `mkdir` naming it and a `chown node[:node]` naming it, in RUN commands.
 */
function madeForNode(stage: Stage, dir: string): boolean {
  const userAt = stage.instructions.findIndex((i) => i.keyword === 'USER');
  const commands = stage.instructions
    .slice(0, userAt < 0 ? undefined : userAt)
    .filter((i) => i.keyword === 'RUN')
    .flatMap((i) => i.args.split(/&&|\|\||;/))
    .map((c) => c.trim().split(/\s+/));
  const names = (words: string[]) => words.slice(1).filter((w) => !w.startsWith('-'));
  const made = commands.some((c) => c[0] === 'mkdir' && names(c).includes(dir));
  const owned = commands.some(
    (c) =>
      c[0] === 'chown' &&
      /^node(?::node)?$/.test(names(c)[0] ?? '') &&
      names(c).slice(1).includes(dir),
  );
  return made && owned;
}

/** An image reference pinned to a full version (`name:1.2.3…`) or a digest. */
function isPinned(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const tag = /:([\w][\w.-]*)$/.exec(image)?.[1];
  return tag !== undefined && /^v?\d+\.\d+\.\d+(?:$|[-_.])/.test(tag);
}

// ---------------------------------------------------------------------------------------------
// tsconfig.build.json, read with TypeScript's own parser (it resolves `extends` and `include`).

const tsBuild = (() => {
  const file = path.join(ROOT, 'tsconfig.build.json');
  const { config, error } = ts.readConfigFile(file, (f) => ts.sys.readFile(f));
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, ROOT, undefined, file);
  const rel = (p: string | undefined) =>
    path
      .relative(ROOT, p ?? ROOT)
      .split(path.sep)
      .join('/') || '.';
  return {
    outDir: rel(parsed.options.outDir),
    rootDir: rel(parsed.options.rootDir),
    fileNames: parsed.fileNames.map((f) => rel(f)),
    extends: z.object({ extends: z.string().optional() }).parse(config).extends,
  };
})();

const stages = parseDockerfile(read('Dockerfile'));
const runtime = stages.at(-1)!;
const stageNamed = (name: string | undefined) => stages.find((s) => s.name === name);

/** The index of the RUN `npm run build` in `stage`, or -1. */
function buildStep(stage: Stage): number {
  return stage.instructions.findIndex(
    (i) => i.keyword === 'RUN' && /\bnpm run build\b/.test(i.args),
  );
}

/**
 * The repository source that the build compiles into `target` (an absolute path in `stage`), or
 * why there is none: `target` must lie in tsconfig.build.json's outDir under the build's WORKDIR,
 * and its source must be copied in from the build context before `npm run build`.
 */
function compiledFrom(stage: Stage, target: string): string {
  const step = buildStep(stage);
  if (step < 0) return `stage ${stage.name} does not run npm run build`;
  const cwd = stage.instructions[step]!.cwd;
  const rel = path.posix.relative(path.posix.join(cwd, tsBuild.outDir), target);
  if (rel.startsWith('..')) return `${target} is outside the build's outDir`;
  const source = path.posix.join(cwd, tsBuild.rootDir, rel.replace(/\.js$/, '.ts'));
  const origin = copiedFrom(stage, source, step);
  if (!origin || origin.from !== undefined)
    return `${source} is not copied into stage ${stage.name}`;
  if (!isRepoFile(origin.path)) return `${origin.path} does not exist`;
  if (!tsBuild.fileNames.includes(origin.path))
    return `${origin.path} is not in tsconfig.build.json`;
  return origin.path;
}

describe('Dockerfile', () => {
  const distCopy = copiesOf(runtime).find(
    (c) => c.from !== undefined && c.sources.some((s) => s.endsWith('/dist')),
  );
  const builder = stageNamed(distCopy?.from);

  it('pins every base image to a full version', () => {
    const images = stages.map((s) => s.image).filter((image) => !stageNamed(image));
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) expect(isPinned(image), image).toBe(true);
  });

  it('compiles in a build stage on Node 24 and runs from a Node 24 stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(builder, 'the runtime copies dist/ from a build stage').toBeDefined();
    expect(builder).not.toBe(runtime);
    expect(runsOf(builder!).some((r) => /\bnpm ci\b/.test(r.args))).toBe(true);
    expect(buildStep(builder!)).toBeGreaterThan(0);
    for (const stage of [builder!, runtime]) expect(stage.image).toMatch(/^node:24\.\d+\.\d+-/);
  });

  it('copies into the build stage every file the build reads', () => {
    const step = buildStep(builder!);
    const cwd = builder!.instructions[step]!.cwd;
    const script = z
      .object({ scripts: z.object({ build: z.string() }) })
      .parse(JSON.parse(read('package.json'))).scripts.build;
    const named = script.split(/\s+/).filter((w) => /\.(?:json|js|mjs)$/.test(w) && isRepoFile(w));
    // the build script (scripts/build.js) runs tsc on tsconfig.build.json
    expect(named).toContain('scripts/build.js');
    expect(read('scripts/build.js')).toContain("'tsconfig.build.json'");
    const wanted = [
      ...named,
      'tsconfig.build.json',
      ...(tsBuild.extends ? [path.posix.normalize(tsBuild.extends)] : []),
      ...tsBuild.fileNames,
    ];
    for (const file of wanted) {
      expect(copiedFrom(builder!, path.posix.join(cwd, file), step), file).toEqual({
        from: undefined,
        path: file,
      });
    }
  });

  it('runs the compiled code with production dependencies only, keeping optional ones', () => {
    const fromContext = copiesOf(runtime)
      .filter((c) => c.from === undefined)
      .flatMap((c) => c.sources);
    for (const source of fromContext) {
      expect(source, 'no TypeScript sources in the runtime').not.toMatch(
        /^(?:src|workers|test)(?:\/|$)|\.ts$/,
      );
    }
    expect(distCopy).toBeDefined();
    const installs = runsOf(runtime).filter((r) => /\bnpm ci\b/.test(r.args));
    expect(installs).toHaveLength(1);
    expect(installs[0]!.args).toMatch(/--omit=dev\b/);
    expect(installs[0]!.args).not.toMatch(/--omit=optional|--no-optional|--production/);
    expect(runtime.instructions.map((i) => i.args).join('\n')).not.toMatch(/\btsx\b/);
    const deps = z
      .object({ dependencies: z.record(z.string(), z.string()) })
      .parse(JSON.parse(read('package.json')));
    expect(Object.keys(deps.dependencies)).not.toContain('tsx');
    expect(envOf(runtime).NODE_ENV).toBe('production');
  });

  it('runs as a non-root user, with a health check on a readiness URL', () => {
    const user = last(runtime, 'USER')?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(?:root|0)(?::|$)/);
    const health = last(runtime, 'HEALTHCHECK');
    expect(health).toBeDefined();
    const { rest } = splitFlags(health!.args);
    expect(rest).toMatch(/^CMD\s+\[/);
    const command = execForm(rest.replace(/^CMD\s+/, ''))!;
    expect(command.slice(0, 2)).toEqual(['node', '-e']);
    expect(() => new vm.Script(command[2] ?? '')).not.toThrow();
    expect(command[2]).toContain('process.env.HEALTHCHECK_URL');
    expect(envOf(runtime).HEALTHCHECK_URL).toBe(
      `http://127.0.0.1:${configDefault('API_PORT')}/readyz`,
    );
  });

  it('makes the data and secrets directories, owned by the node user', () => {
    for (const dir of ['/app/data', '/app/secrets'])
      expect(madeForNode(runtime, dir), dir).toBe(true);
  });

  it('starts files the image holds: bin/ from the repository, which imports what the build compiles', () => {
    const entry = execForm(last(runtime, 'ENTRYPOINT')!.args)!;
    expect(entry).toEqual(['node', '/app/bin/cloudauth-orchestrator.js']);
    const script = copiedFrom(runtime, entry[1]!);
    expect(script).toEqual({ from: undefined, path: 'bin/cloudauth-orchestrator.js' });
    const pkg = z
      .object({ bin: z.record(z.string(), z.string()) })
      .parse(JSON.parse(read('package.json')));
    expect(Object.values(pkg.bin).map((b) => path.posix.normalize(b))).toContain(script!.path);

    const imports = [...read(script!.path).matchAll(/['"](\.\.?\/[^'"]+\.js)['"]/g)].map(
      (m) => m[1]!,
    );
    expect(imports).toContain('../dist/src/cli/main.js');
    const sources = imports.map((specifier) => {
      const inImage = path.posix.resolve(path.posix.dirname(entry[1]!), specifier);
      const origin = copiedFrom(runtime, inImage);
      expect(origin?.from, `${inImage} comes from a build stage`).toBeDefined();
      return compiledFrom(stageNamed(origin!.from)!, origin!.path);
    });
    expect(sources).toEqual(
      imports.map((i) => i.replace(/^\.\.\/dist\//, '').replace(/\.js$/, '.ts')),
    );
    expect(sources).toContain('src/cli/main.ts');
  });

  it('starts the api role unless told otherwise', () => {
    const role = execForm(last(runtime, 'CMD')!.args);
    expect(role).toEqual(['api']);
  });

  it('leaves out of the build context local state, but nothing the Dockerfile copies', () => {
    const patterns = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    const ignored = (file: string) =>
      patterns.some((p) => {
        const re = new RegExp(
          `^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(?:/|$)`,
        );
        return re.test(file);
      });
    for (const local of ['node_modules', 'dist', 'data', '.git', 'test'])
      expect(ignored(local), local).toBe(true);
    const copied = stages
      .flatMap((s) => copiesOf(s))
      .filter((c) => c.from === undefined)
      .flatMap((c) => c.sources);
    for (const source of copied) expect(ignored(source), source).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// docker-compose.yml

const Healthcheck = z.object({
  test: z.union([z.string(), z.array(z.string())]),
  disable: z.boolean().optional(),
});
const Service = z.object({
  image: z.string().optional(),
  build: z
    .union([z.string(), z.object({ context: z.string(), dockerfile: z.string().optional() })])
    .optional(),
  command: z.array(z.string()).optional(),
  environment: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
  healthcheck: Healthcheck.optional(),
  restart: z.string().optional(),
  depends_on: z
    .union([
      z.array(z.string()),
      z.record(z.string(), z.object({ condition: z.string().optional() })),
    ])
    .optional(),
  ports: z.array(z.unknown()).optional(),
  volumes: z.array(z.string()).optional(),
  container_name: z.string().optional(),
});
const Compose = z.object({
  services: z.record(z.string(), Service),
  volumes: z.record(z.string(), z.unknown().nullable()).optional(),
});

const compose = Compose.parse(parseYaml(read('docker-compose.yml'), { merge: true }));
const services = Object.entries(compose.services);
const built = services.filter(([, s]) => s.build !== undefined);
const envOfService = (s: z.infer<typeof Service>) =>
  Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v)]));

describe('docker-compose.yml', () => {
  it('pins every image to a full version, and builds the rest from the Dockerfile', () => {
    for (const [name, s] of services) {
      if (s.image !== undefined) expect(isPinned(s.image), `${name}: ${s.image}`).toBe(true);
      else
        expect(
          s.build === '.' || (typeof s.build === 'object' && s.build.context === '.'),
          name,
        ).toBe(true);
    }
    expect(built.length).toBeGreaterThan(0);
  });

  it('gives every service a health check and a restart policy', () => {
    for (const [name, s] of services) {
      expect(s.healthcheck, name).toBeDefined();
      expect(s.healthcheck?.disable, name).not.toBe(true);
      expect([s.healthcheck?.test].flat()[0], name).not.toBe('NONE');
      expect(['always', 'unless-stopped', 'on-failure'], name).toContain(s.restart);
    }
  });

  it('starts a service only once what it depends on is healthy', () => {
    for (const [name, s] of services) {
      if (s.depends_on === undefined) continue;
      expect(Array.isArray(s.depends_on), `${name}: depends_on with conditions`).toBe(false);
      for (const [dep, { condition }] of Object.entries(s.depends_on)) {
        expect(condition, `${name} -> ${dep}`).toBe('service_healthy');
        expect(compose.services[dep]?.healthcheck, dep).toBeDefined();
      }
    }
  });

  it('runs api and worker as separate services, every built service as one CLI role', () => {
    expect(compose.services.api?.command).toEqual(['api']);
    expect(compose.services.worker?.command).toEqual(['worker']);
    for (const [name, s] of built) {
      expect(s.command, name).toHaveLength(1);
      expect(isRole(s.command?.[0] ?? ''), `${name}: ${s.command?.join(' ')}`).toBe(true);
    }
    const worker = compose.services.worker!;
    expect(worker.ports, 'a scaled worker publishes no host port').toBeUndefined();
    expect(worker.container_name, 'a scaled worker has no fixed name').toBeUndefined();
  });

  it("checks each role's readiness with the image's health check, on the port that role serves it", () => {
    const imageCheck = execForm(
      splitFlags(last(runtime, 'HEALTHCHECK')!.args).rest.replace(/^CMD\s+/, ''),
    );
    for (const [name, s] of built) {
      const role = s.command?.[0] as Role;
      const env = envOfService(s);
      const { host, port } = OPS_ENDPOINT[role];
      expect(env[host], `${name}: ${host}, reachable from other containers`).toBe('0.0.0.0');
      expect(env.HEALTHCHECK_URL, name).toBe(
        `http://127.0.0.1:${env[port] ?? configDefault(port)}/readyz`,
      );
      expect(s.healthcheck?.test, name).toEqual(['CMD', ...(imageCheck ?? [])]);
    }
  });

  it('asks for embedded mode explicitly, as the image selects production, and talks to the emulator', () => {
    const emulator = envOfService(compose.services.emulator!);
    const emulatorPort =
      emulator.EMULATOR_CLOUDAUTH_PORT ?? configDefault('EMULATOR_CLOUDAUTH_PORT');
    for (const name of ['api', 'worker']) {
      const env = envOfService(compose.services[name]!);
      expect(env.ORCHESTRATOR_MODE, name).toBe('embedded');
      expect(env.CLOUDAUTH_ENDPOINT, name).toBe(`http://emulator:${emulatorPort}`);
      expect(env.REDIS_URL, name).toBe('redis://redis:6379');
    }
  });

  it("starts each role with its environment and the image's, and would refuse production without one", () => {
    for (const [name, s] of built) {
      const env = { ...envOf(runtime), ...envOfService(s) };
      const role = s.command?.[0] as Role;
      expect(() => loadConfig(env, role), name).not.toThrow();
      if (role !== 'emulator') {
        expect(loadConfig(env, role).mode, name).toBe('embedded');
        const { ORCHESTRATOR_MODE: _, ...unset } = env;
        expect(() => loadConfig(unset, role), `${name} without ORCHESTRATOR_MODE`).toThrow(
          /production/,
        );
      }
    }
    // `docker compose run --rm api <command>`, as docs/guides/deploy.md says, runs the CLI there.
    const api = { ...envOf(runtime), ...envOfService(compose.services.api!) };
    expect(loadConfig(api, 'cli').mode).toBe('embedded');
  });

  it('keeps the generated secrets on a named volume, on a directory the image gives to node', () => {
    for (const name of ['api', 'worker']) {
      const s = compose.services[name]!;
      const env = envOfService(s);
      const dirs = new Set(
        ['ENCRYPTION_KEY_FILE', 'WEBHOOK_SECRET_FILE', 'API_TOKEN_FILE'].map((k) =>
          path.posix.dirname(env[k] ?? ''),
        ),
      );
      expect(dirs.size, `${name}: one directory`).toBe(1);
      const [dir] = [...dirs];
      const mount = s.volumes?.map((v) => v.split(':')).find(([, at]) => at === dir);
      expect(mount, `${name}: a volume on ${dir}`).toBeDefined();
      expect(Object.keys(compose.volumes ?? {}), 'a named volume').toContain(mount![0]);
      expect(madeForNode(runtime, dir!), `${dir} owned by node`).toBe(true);
    }
  });

  it('shares one staging volume between the api and the workers, on a directory the image gives to node', () => {
    const mounts = ['api', 'worker'].map((name) => {
      const s = compose.services[name]!;
      const dir = envOfService(s).STAGING_DIR;
      expect(dir, `${name}: STAGING_DIR`).toBeDefined();
      const mount = s.volumes?.map((v) => v.split(':')).find(([, at]) => at === dir);
      expect(mount, `${name}: a volume on ${dir}`).toBeDefined();
      expect(Object.keys(compose.volumes ?? {}), 'a named volume').toContain(mount![0]);
      expect(madeForNode(runtime, dir!), `${dir} owned by node`).toBe(true);
      return mount!.join(':');
    });
    // the photos the api stages are where the workers read them
    expect(mounts[0]).toBe(mounts[1]);
  });

  it('runs Redis 7 or later with AOF fsynced always and noeviction', () => {
    const redis = compose.services.redis!;
    const [major] =
      /:(\d+)\./
        .exec(redis.image ?? '')
        ?.slice(1)
        .map(Number) ?? [];
    expect(major).toBeGreaterThanOrEqual(7);
    const args = (redis.command ?? []).join(' ');
    expect(args).toContain('--appendonly yes');
    expect(args).toContain('--appendfsync always');
    expect(args).toContain('--maxmemory-policy noeviction');
    expect([redis.healthcheck?.test].flat().join(' ')).toContain('redis-cli ping');
  });
});

// ---------------------------------------------------------------------------------------------
// deploy/prometheus

const Rule = z.object({
  alert: z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/),
  expr: z.string().min(1),
  for: z
    .string()
    .regex(/^\d+(?:ms|s|m|h|d|w|y)$/)
    .optional(),
  labels: z.object({ severity: z.enum(['critical', 'warning', 'info']) }),
  annotations: z.object({ summary: z.string().min(1), description: z.string().min(1) }),
});
const Rules = z.object({
  groups: z.array(z.object({ name: z.string(), rules: z.array(Rule).min(1) })).min(1),
});
const ScrapeConfig = z.object({
  rule_files: z.array(z.string()),
  scrape_configs: z.array(
    z.object({
      job_name: z.string(),
      static_configs: z.array(z.object({ targets: z.array(z.string()) })).optional(),
      dns_sd_configs: z
        .array(z.object({ names: z.array(z.string()), port: z.number() }))
        .optional(),
    }),
  ),
});

const rules = Rules.parse(parseYaml(read('deploy/prometheus/alerts.yml'))).groups.flatMap(
  (g) => g.rules,
);
const scrape = ScrapeConfig.parse(parseYaml(read('deploy/prometheus/prometheus.yml')));
const ruleWith = (pattern: RegExp) => rules.find((r) => pattern.test(r.expr));

describe('deploy/prometheus', () => {
  it('names only metrics the orchestrator registers, with label values it uses', async () => {
    const registered = new Set<string>();
    for (const m of await new Telemetry({}).registry.getMetricsAsJSON()) {
      registered.add(m.name);
      // prom-client types `type` as a numeric enum; the objects carry 'histogram', 'summary', ….
      const type: unknown = m.type;
      if (type === 'histogram' || type === 'summary')
        for (const suffix of ['_bucket', '_sum', '_count']) registered.add(m.name + suffix);
    }
    const labelValues: Record<string, readonly string[]> = {
      queue: [TICKET_QUEUE, WEBHOOK_QUEUE],
      outcome: ['ok', ...WEBHOOK_OUTCOMES, ...Object.keys(ERROR_CODES)],
    };
    for (const rule of rules) {
      const text = `${rule.expr}\n${rule.annotations.description}`;
      for (const [name] of text.matchAll(/\bcloudauth_orchestrator_\w+/g))
        expect(registered.has(name), `${rule.alert}: ${name}`).toBe(true);
      for (const [, label, value] of text.matchAll(/\b(queue|outcome)="([^"]*)"/g)) {
        expect(labelValues[label!], `${rule.alert}: ${label}="${value}"`).toContain(value);
      }
    }
  });

  it('alerts on a ticket backlog, a target down and growing webhook dead letters', () => {
    const backlog = ruleWith(
      /cloudauth_orchestrator_queue_oldest_waiting_age_seconds\{queue="tickets"\}.*>\s*300\b/,
    );
    expect(backlog?.for).toBe('10m');
    expect(ruleWith(/\bup\{[^}]*\}\s*==\s*0/)).toBeDefined();
    expect(
      ruleWith(/cloudauth_orchestrator_webhook_deliveries_total\{outcome="dead_lettered"\}/),
    ).toBeDefined();
  });

  it('watches every job of the example scrape config, on the ports the services serve', () => {
    expect(scrape.rule_files).toContain('alerts.yml');
    const down = ruleWith(/\bup\{/)!;
    const jobs = new RegExp(`^(?:${/job=~"([^"]+)"/.exec(down.expr)?.[1] ?? ''})$`);
    for (const job of scrape.scrape_configs)
      expect(jobs.test(job.job_name), job.job_name).toBe(true);
    const targets = scrape.scrape_configs.flatMap((j) => [
      ...(j.static_configs ?? []).flatMap((c) => c.targets),
      ...(j.dns_sd_configs ?? []).flatMap((c) => c.names.map((n) => `${n}:${c.port}`)),
    ]);
    const expected = ['api', 'worker'].map((name) => {
      const env = envOfService(compose.services[name]!);
      const { port } = OPS_ENDPOINT[name as Role];
      return `${name}:${env[port] ?? configDefault(port)}`;
    });
    expect(targets.sort()).toEqual(expected.sort());
  });
});
