/**
 * The one place that reads configuration. Every key is an environment variable, declared once in
 * {@link CONFIG_KEYS} with its type, default and description; the README's configuration table is
 * made from the same declarations. `loadConfig(env, role)` is pure: pass `process.env` at the edge.
 * How the mode is chosen and what each role needs in production: `config-mode.ts`.
 */
import { z } from 'zod';
import { productionProblems } from './config-checks.js';
import {
  PRODUCTION_REQUIREMENTS,
  callsCloudauth,
  credentialsWithoutEndpoint,
  embeddedWithRealEndpoint,
  unknownSettings,
  missingInProduction,
  resolveMode,
  weakInProduction,
  type ConfigRole,
  type OrchestratorMode,
} from './config-mode.js';
import { ConfigError } from './errors.js';

export type { ConfigRole, OrchestratorMode } from './config-mode.js';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max);
const csv = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0),
);

/** Scheme names a Biz scenario can be bound to (spec §1.10). */
export const SCHEMES = [
  'RPBasic',
  'RPManual',
  'RPBioID',
  'RPBioOnly',
  'RPBioOnlyPro',
  'RPH5BioOnly',
  'FVBioOnly',
  'FDBioOnly',
  'RPMin',
] as const;
export type Scheme = (typeof SCHEMES)[number];

/** `Biz=Scheme` pairs, comma separated, e.g. `RPBasic=RPBasic,onboarding=RPBioOnly`. */
const bizMap = z.string().transform((s, ctx) => {
  const out: Record<string, Scheme> = {};
  for (const pair of s.split(',').map((p) => p.trim())) {
    if (pair === '') continue;
    const [biz, scheme] = pair.split('=').map((x) => x.trim());
    if (!biz || !scheme || !(SCHEMES as readonly string[]).includes(scheme)) {
      ctx.addIssue({
        code: 'custom',
        message: `"${pair}" is not Biz=Scheme with a scheme among ${SCHEMES.join(', ')}`,
      });
      return z.NEVER;
    }
    out[biz] = scheme as Scheme;
  }
  return out;
});

/** `Action=number` pairs, comma separated. */
const rates = z.string().transform((s, ctx) => {
  const out: Record<string, number> = {};
  for (const pair of s.split(',').map((p) => p.trim())) {
    if (pair === '') continue;
    const [name, value] = pair.split('=').map((x) => x.trim());
    const n = Number(value);
    if (!name || value === undefined || value === '' || !Number.isFinite(n) || n < 0) {
      ctx.addIssue({ code: 'custom', message: `"${pair}" is not Action=number` });
      return z.NEVER;
    }
    out[name] = n;
  }
  return out;
});

/** `AccessKeyId:AccessKeySecret` pairs, comma separated. */
const keyPairs = z.string().transform((s, ctx) => {
  const out: Record<string, string> = {};
  for (const pair of s.split(',').map((p) => p.trim())) {
    if (pair === '') continue;
    const i = pair.indexOf(':');
    if (i <= 0 || i === pair.length - 1) {
      ctx.addIssue({ code: 'custom', message: 'expected AccessKeyId:AccessKeySecret pairs' });
      return z.NEVER;
    }
    out[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return out;
});

interface KeySpec<S extends z.ZodType> {
  schema: S;
  /** The default as it would be written in the environment; undefined means "unset". */
  default: string | undefined;
  description: string;
  /** Never printed (README shows "secret"). */
  secret?: boolean;
}
const key = <S extends z.ZodType>(
  schema: S,
  dflt: string | undefined,
  description: string,
  secret = false,
): KeySpec<S> => ({ schema, default: dflt, description, secret });

/** Every configuration key, by environment variable name. */
export const CONFIG_KEYS = {
  ORCHESTRATOR_MODE: key(
    z.enum(['embedded', 'production']).optional(),
    undefined,
    "`embedded` runs on local defaults (the Cloudauth emulator where no `CLOUDAUTH_ENDPOINT` is set, generated secrets in files) and marks every verdict its workers reach `emulated: true`; `production` refuses to start without what its role uses: `all` a real `CLOUDAUTH_ENDPOINT` and credentials, `REDIS_URL`, `ENCRYPTION_KEY`, `WEBHOOK_SECRET` and `API_TOKENS`; `api` `REDIS_URL`, `ENCRYPTION_KEY` and `API_TOKENS`; `worker` the Cloudauth endpoint and credentials, `REDIS_URL`, `ENCRYPTION_KEY` and `WEBHOOK_SECRET`; the CLI `REDIS_URL` and `ENCRYPTION_KEY`; `emulator` nothing. It also refuses an `http://` `CLOUDAUTH_ENDPOINT`, the emulator's key pair, and weak secrets (see each one: no dictionary, rules that refuse typed and placeholder values, never a long enough random one). Unset: `production` when `NODE_ENV=production`, any of `CLOUDAUTH_ENDPOINT`, `CLOUDAUTH_ACCESS_KEY_ID`, `CLOUDAUTH_ACCESS_KEY_SECRET`, `CLOUDAUTH_SECURITY_TOKEN`, `ENCRYPTION_KEY`, `WEBHOOK_SECRET`, `API_TOKENS` is set, or `REDIS_URL` names a host other than loopback; else `embedded`. Cloudauth credentials without `CLOUDAUTH_ENDPOINT` refuse to start in either mode, embedded mode refuses an Alibaba Cloud (`*.aliyuncs.com`) endpoint, and a `CLOUDAUTH_*` or `ORCHESTRATOR_*` variable that is no setting (a misspelling) refuses to start.",
  ),
  LOG_LEVEL: key(
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    'info',
    'pino log level. Secrets and personal data are redacted at every level.',
  ),
  REDIS_URL: key(
    z.string().url().optional(),
    undefined,
    'Redis connection URL. Unset: `redis://127.0.0.1:6379`. A `redis://` URL to a host other than loopback is logged at warn at start: use `rediss://` (TLS).',
  ),
  REDIS_PREFIX: key(
    z.string().regex(/^[A-Za-z0-9_.-]+$/),
    'ca',
    'Prefix of every key the ticket store writes to Redis (`<prefix>:t:{<ticketId>}` and its indexes).',
  ),
  ENCRYPTION_KEY: key(
    z
      .string()
      .refine(
        (s) => /^[A-Za-z0-9+/]{43}=$/.test(s) && Buffer.from(s, 'base64').length === 32,
        'expected the base64 of 32 random bytes (`openssl rand -base64 32`)',
      )
      .optional(),
    undefined,
    'AES-256-GCM key (base64 of 32 bytes) for the lease, binding, user data and provider materials held in Redis. Required in production, where its 32 bytes must have at least 20 distinct values, no run of 8 bytes in sequence, and not all be printable text (`openssl rand -base64 32` always passes). Unset in embedded mode: a key kept in `ENCRYPTION_KEY_FILE`, created on first use. Never logged.',
    true,
  ),
  ENCRYPTION_KEY_FILE: key(
    z.string().min(1),
    'data/encryption.key',
    'Where embedded mode keeps its generated encryption key (base64, mode 0600) when `ENCRYPTION_KEY` is unset.',
  ),
  TICKET_RETENTION_SECONDS: key(
    int(60, 10 * 365 * 86_400),
    '2592000',
    'How long a finished ticket (passed, not passed, expired, failed, cancelled) and its history are kept, in seconds. Default 30 days.',
  ),
  CLOUDAUTH_ENDPOINT: key(
    z.string().url().optional(),
    undefined,
    "Cloudauth POP endpoint, e.g. `https://cloudauth.aliyuncs.com`; `https://` in production (names, ID numbers and STS credentials cross it). Setting it selects production mode unless `ORCHESTRATOR_MODE=embedded` is given (as when it is an emulator's URL). Unset in embedded mode: the Cloudauth emulator.",
  ),
  CLOUDAUTH_ACCESS_KEY_ID: key(
    z.string().min(1).optional(),
    undefined,
    'AccessKeyId for Cloudauth. Refused without `CLOUDAUTH_ENDPOINT` in every mode; setting it selects production mode unless `ORCHESTRATOR_MODE=embedded` is given. Unset in embedded mode without an endpoint: the emulator demo key.',
  ),
  CLOUDAUTH_ACCESS_KEY_SECRET: key(
    z.string().min(1).optional(),
    undefined,
    "AccessKeySecret for Cloudauth. Refused without `CLOUDAUTH_ENDPOINT`, like `CLOUDAUTH_ACCESS_KEY_ID`. In production it must pass the secret strength rule (see `API_TOKENS`) and not be the emulator's. Never logged.",
    true,
  ),
  CLOUDAUTH_SECURITY_TOKEN: key(
    z.string().min(1).optional(),
    undefined,
    'STS SecurityToken when the Cloudauth credentials are temporary. Refused without `CLOUDAUTH_ENDPOINT`, like `CLOUDAUTH_ACCESS_KEY_ID`. Never logged.',
    true,
  ),
  CLOUDAUTH_TIMEOUT_MS: key(
    int(100, 120_000),
    '10000',
    'Per-request timeout of a Cloudauth call (connect and read), in milliseconds. A timeout is retried.',
  ),
  OSS_TIMEOUT_MS: key(
    int(100, 600_000),
    '30000',
    'Per-request timeout of a material upload to OSS, in milliseconds. A timeout is retried.',
  ),
  IMAGE_MAX_PIXELS: key(
    int(250_000, 268_402_689),
    '25000000',
    'Most pixels (width × height) an image material may have, read from its header before anything decodes it: larger ones are refused at intake (HTTP, producer, CLI preflight) and by the worker. Default 25 MP; a decoded image takes 3 bytes per pixel.',
  ),
  IMAGE_MAX_SIDE_PX: key(
    int(480, 65_535),
    '16384',
    'Longest side an image material may have, in pixels, checked with IMAGE_MAX_PIXELS: refuses strips such as 25000000×1 that are within the pixel count but no photo.',
  ),
  IMAGE_DECODE_BUDGET_PIXELS: key(
    int(250_000, 1_073_741_824),
    '50000000',
    'Pixels one process decodes and fits at once, whatever WORKER_CONCURRENCY is: an image waits until its pixels fit in what the images decoding now leave (a BMP counts twice its pixels: it is decoded whole, where JPEG and PNG stream); one larger than the whole budget decodes alone. Default two images at the default IMAGE_MAX_PIXELS, about 80 MB of decoding for JPEG and PNG, 130 MB for one BMP.',
  ),
  CLOUDAUTH_QPS: key(
    rates,
    '*=20',
    "Calls per second allowed per Cloudauth action across all workers, as `Action=qps` pairs; `*` for the others; 0 for no limit. The legacy limits are not published: set your account's.",
  ),
  CLOUDAUTH_QPS_HEADROOM: key(
    z.coerce.number().min(0).max(1),
    '0.03',
    'Extra spacing between calls, as a fraction of 1000/qps ms, so that arrival jitter at the provider never puts qps + 1 calls into one second.',
  ),
  WORKER_CONCURRENCY: key(int(1, 10_000), '50', 'Tickets one worker process handles at once.'),
  JOB_ATTEMPTS: key(
    int(1, 100),
    '8',
    'Processing attempts per ticket before it fails (status re-checks do not count).',
  ),
  BACKOFF_BASE_MS: key(
    int(1, 3_600_000),
    '1000',
    'First retry delay ceiling, in ms; doubles per attempt, full jitter.',
  ),
  BACKOFF_CAP_MS: key(int(1, 86_400_000), '60000', 'Longest retry delay, in ms.'),
  LEASE_MARGIN_SECONDS: key(
    int(0, 86_400),
    '120',
    'Renew a VerifyToken or STS credential that runs out within this margin (at most a quarter of its lifetime).',
  ),
  POLL_INITIAL_MS: key(int(10, 3_600_000), '2000', 'First GetStatus re-check delay, in ms.'),
  POLL_MAX_MS: key(int(10, 3_600_000), '30000', 'Longest GetStatus re-check delay, in ms.'),
  POLL_FACTOR: key(z.coerce.number().min(1).max(10), '1.5', 'Growth of the re-check delay.'),
  WORKER_LOCK_MS: key(
    int(1000, 3_600_000),
    '30000',
    "Job lock duration, in ms: a crashed worker's tickets are taken over by another after about this long.",
  ),
  WORKER_STALLED_INTERVAL_MS: key(
    int(1000, 3_600_000),
    '15000',
    'How often workers look for stalled jobs, in ms.',
  ),
  RECONCILE_INTERVAL_SECONDS: key(
    int(0, 86_400),
    '300',
    'How often the workers check that every unfinished ticket has a job (re-adding missing ones, running again the job of a ticket retried while it ran, failing tickets whose job failed), in seconds; one process per round. 0 turns it off.',
  ),
  RECONCILE_SCAN_KEYS: key(
    int(0, 100_000_000),
    '100000',
    "Keys each reconcile round's walk over the tickets' hashes examines, about (SCAN, 1000 a call; the next round goes on where it stopped). It finds tickets missing from the indexes: restores their entries and, when unfinished, their job; gives finished ones without an expiry their retention. 0 turns the walk off.",
  ),
  SHUTDOWN_TIMEOUT_MS: key(
    int(0, 600_000),
    '20000',
    'On SIGTERM/SIGINT, how long active tickets may finish before the process exits, in ms.',
  ),
  JOB_KEEP_COMPLETED_SECONDS: key(
    int(0, 31_536_000),
    '86400',
    'How long finished jobs stay in the queue (the tickets stay in the store for TICKET_RETENTION_SECONDS).',
  ),
  JOB_KEEP_FAILED_SECONDS: key(
    int(0, 31_536_000),
    '604800',
    'How long failed jobs stay in the queue.',
  ),
  CLOUDAUTH_BIZ: key(
    bizMap,
    'RPBasic=RPBasic,RPBioOnly=RPBioOnly,RPH5BioOnly=RPH5BioOnly,RPMin=RPMin',
    'Registered Biz scenarios and the scheme each is bound to, as `Biz=Scheme` pairs (the console creates these in production; the emulator registers the same list).',
  ),
  WEBHOOK_SECRET: key(
    z.string().min(16).optional(),
    undefined,
    'HMAC-SHA256 key signing every webhook (`x-cloudauth-orchestrator-signature`), at least 16 characters. Required in production, where it must pass the secret strength rule (see `API_TOKENS`; `openssl rand -hex 32` always does). Unset in embedded mode: a secret kept in `WEBHOOK_SECRET_FILE`, created on first use. Never logged.',
    true,
  ),
  WEBHOOK_SECRET_FILE: key(
    z.string().min(1),
    'data/webhook.secret',
    'Where embedded mode keeps its generated webhook signing secret (hex, mode 0600) when `WEBHOOK_SECRET` is unset.',
  ),
  WEBHOOK_DEFAULT_URL: key(
    z
      .string()
      .url()
      .refine((s) => /^https?:\/\//i.test(s), 'expected an http or https URL')
      .optional(),
    undefined,
    'Webhook destination for tickets accepted without a callback URL. Unset: such tickets send no webhook. In production it must be https unless its host is in `WEBHOOK_ALLOWED_HOSTS`.',
    true,
  ),
  WEBHOOK_ALLOWED_HOSTS: key(
    csv.optional().transform((v) => v ?? []),
    undefined,
    'Host names or IPs webhooks may be delivered to even though they resolve to loopback, private, link-local or other non-public addresses (refused otherwise), comma separated. In production, also the only hosts a callback URL may reach over plain `http://`.',
  ),
  WEBHOOK_TIMEOUT_MS: key(
    int(100, 120_000),
    '5000',
    'Per-attempt timeout of a webhook delivery, in ms. A timeout is retried.',
  ),
  WEBHOOK_ATTEMPTS: key(
    int(1, 100),
    '10',
    'Delivery attempts per webhook before it is dead-lettered (kept in the failed set for replay).',
  ),
  WEBHOOK_CONCURRENCY: key(
    int(1, 10_000),
    '20',
    'Webhook deliveries one worker process makes at once.',
  ),
  API_HOST: key(z.string().min(1), '127.0.0.1', 'Address the HTTP API listens on.'),
  API_PORT: key(int(0, 65535), '8080', 'Port of the HTTP API; 0 picks a free port.'),
  API_TOKENS: key(
    csv
      .refine(
        (tokens) => tokens.every((t) => /^[\x21-\x2b\x2d-\x7e]{16,}$/.test(t)),
        'expected tokens of at least 16 printable ASCII characters without spaces',
      )
      .optional()
      .transform((v) => v ?? []),
    undefined,
    'Bearer tokens the HTTP API accepts (`Authorization: Bearer <token>`), comma separated, each at least 16 characters. Required in production, where each must pass the secret strength rule: an estimated 90 bits or more (length × log2 of its character set: 16 for hex, else 10 digits + 26 lower + 26 upper + 33 others, as present), not a shorter piece repeated, no stretch of half its length of one character or a sequence (`abcd`, `4321`), and at least 8 distinct characters (or half its length). 32 hex digits (`openssl rand -hex 16`) or 24 base64 characters always pass. Unset in embedded mode: a token kept in `API_TOKEN_FILE`, created on first use and printed at start-up. Never logged.',
    true,
  ),
  API_TOKEN_FILE: key(
    z.string().min(1),
    'data/api.token',
    'Where embedded mode keeps its generated API token (mode 0600) when `API_TOKENS` is unset.',
  ),
  API_BODY_LIMIT_BYTES: key(
    int(1024, 1024 * 1024 * 1024),
    '16777216',
    'Largest HTTP API request body, in bytes. Default 16 MB: three base64 images of 2 MB fit in one ticket.',
  ),
  API_BATCH_MAX: key(
    int(1, 100_000),
    '1000',
    'Most tickets one `POST /v1/tickets/batch` request may carry.',
  ),
  METRICS_AUTH: key(
    bool,
    'false',
    "`GET /metrics` on the API's port requires the API bearer token. Default no: Prometheus scrapers usually carry none, and the metrics hold counts by state, action and error code only (no ticket ids, no personal data). `/healthz` and `/readyz` never require it. A worker's ops port (`WORKER_OPS_HOST`) never asks for a token: keep it on a private interface.",
  ),
  WORKER_OPS_HOST: key(
    z.string().min(1),
    '127.0.0.1',
    'Address where a `worker` process serves `/healthz`, `/readyz` and `/metrics`.',
  ),
  WORKER_OPS_PORT: key(
    int(0, 65535),
    '9464',
    'Port where a `worker` process serves `/healthz`, `/readyz` and `/metrics`; 0 picks a free port.',
  ),
  EMULATOR_HOST: key(z.string().min(1), '127.0.0.1', 'Address the emulators listen on.'),
  EMULATOR_CLOUDAUTH_PORT: key(
    int(0, 65535),
    '8787',
    'Port of the Cloudauth emulator (`npm run emulator`); 0 picks a free port.',
  ),
  EMULATOR_PUBLIC_URL: key(
    z.string().url().optional(),
    undefined,
    'Base URL the emulator puts in `CloudauthPageUrl` when it is reached through another address. Unset: its own listening URL.',
  ),
  EMULATOR_ACCESS_KEYS: key(
    keyPairs,
    'LTAIdemoOrchestrator:demo-secret-change-me',
    'Access key pairs the Cloudauth emulator accepts, as `AccessKeyId:AccessKeySecret`, comma separated. The first is the demo pair printed at start-up.',
    true,
  ),
  EMULATOR_TOKEN_SECONDS: key(
    int(1, 86_400),
    '1800',
    '`VerifyToken.DurationSeconds` the emulator issues.',
  ),
  EMULATOR_STS_SECONDS: key(
    int(1, 86_400),
    '1800',
    'Lifetime of the STS credentials the emulator issues with a token.',
  ),
  EMULATOR_OSS_PORT: key(
    int(0, 65535),
    '8788',
    'Port of the OSS emulator (started with the Cloudauth emulator); 0 picks a free port.',
  ),
  EMULATOR_OSS_ENDPOINT: key(
    z.string().url().optional(),
    undefined,
    "`StsToken.EndPoint` the Cloudauth emulator hands out. Unset: the OSS emulator's own URL.",
  ),
  EMULATOR_OSS_DIR: key(
    z.string().min(1).optional(),
    undefined,
    'Directory where the OSS emulator keeps objects as files. Unset: memory only.',
  ),
  EMULATOR_OSS_BUCKET: key(
    z.string().regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/),
    'cloudauth-emulator',
    '`StsToken.BucketName` the emulator hands out.',
  ),
  EMULATOR_REJECT_NAMES: key(
    csv,
    '拒绝,Reject Me',
    'Names the emulator judges "not passed" (StatusCode 2), comma separated.',
  ),
  EMULATOR_REVIEW_NAMES: key(
    csv,
    '审核,Review Me',
    'Names the emulator keeps "under review" (StatusCode 0) for EMULATOR_REVIEW_MS before passing, comma separated.',
  ),
  EMULATOR_REVIEW_MS: key(
    int(0, 86_400_000),
    '3000',
    'How long a review-list submission stays at StatusCode 0, in milliseconds.',
  ),
  EMULATOR_FAULTS: key(
    z.string().optional(),
    undefined,
    'Fault injection at start-up, JSON: `{"*":{"internalErrorRate":0.2},"GetStatus":{"qps":50}}` (see the README). Also settable at run time through `PUT /__admin/faults`.',
  ),
  EMULATOR_ADMIN_ENABLED: key(
    bool,
    'true',
    'Serve the emulator admin endpoints (`/__admin/*`: faults, counters, tickets).',
  ),
} as const;

type Keys = typeof CONFIG_KEYS;
type Raw = { [K in keyof Keys]: z.output<Keys[K]['schema']> };

/** The validated configuration. */
export interface Config {
  /** The resolved mode: `ORCHESTRATOR_MODE`, or what the environment implies (see config-mode.ts). */
  mode: OrchestratorMode;
  logLevel: Raw['LOG_LEVEL'];
  redisUrl: string | undefined;
  /** Prefix of every ticket-store key. */
  redisPrefix: string;
  store: {
    /** Base64 of the 32-byte AES-256-GCM key; undefined: the key file (embedded mode only). */
    encryptionKey: string | undefined;
    /** Where embedded mode keeps a generated key. */
    encryptionKeyFile: string;
    /** How long finished tickets are kept, in seconds. */
    retentionSeconds: number;
  };
  cloudauth: {
    /** undefined: use the embedded emulator. */
    endpoint: string | undefined;
    accessKeyId: string | undefined;
    accessKeySecret: string | undefined;
    securityToken: string | undefined;
    timeoutMs: number;
    /** Biz → scheme. */
    biz: Record<string, Scheme>;
  };
  oss: {
    timeoutMs: number;
  };
  images: {
    /** Most pixels an image material may have (from its header, before decoding). */
    maxPixels: number;
    /** Longest side an image material may have, in pixels. */
    maxSidePx: number;
    /** Pixels one process decodes at once (a BMP counts twice). */
    decodeBudgetPixels: number;
  };
  queue: {
    qps: Record<string, number>;
    qpsHeadroom: number;
    concurrency: number;
    attempts: number;
    backoffBaseMs: number;
    backoffCapMs: number;
    leaseMarginMs: number;
    pollInitialMs: number;
    pollMaxMs: number;
    pollFactor: number;
    lockDurationMs: number;
    stalledIntervalMs: number;
    reconcileIntervalSeconds: number;
    /** Keys a reconcile round's walk over the tickets' hashes examines (about); 0: no walk. */
    reconcileScanKeys: number;
    shutdownTimeoutMs: number;
    keepCompletedSeconds: number;
    keepFailedSeconds: number;
  };
  webhooks: {
    /** The signing secret; undefined: the secret file (embedded mode only). Never logged. */
    secret: string | undefined;
    /** Where embedded mode keeps a generated secret. */
    secretFile: string;
    /** Destination for tickets without a callback URL; undefined: no webhook for them. */
    defaultUrl: string | undefined;
    /** Hosts or IPs delivered to even when they resolve to private addresses. */
    allowedHosts: string[];
    /** Per-attempt delivery timeout, in ms. */
    timeoutMs: number;
    /** Delivery attempts before a webhook is dead-lettered. */
    attempts: number;
    /** Deliveries one worker makes at once. */
    concurrency: number;
  };
  api: {
    /** Address the HTTP API listens on. */
    host: string;
    /** 0 picks a free port. */
    port: number;
    /** Accepted bearer tokens; empty: the token file (embedded mode only). Never logged. */
    tokens: string[];
    /** Where embedded mode keeps a generated token. */
    tokenFile: string;
    /** Largest request body, in bytes. */
    bodyLimitBytes: number;
    /** Most tickets per batch request. */
    batchMax: number;
  };
  ops: {
    /** `GET /metrics` requires the API bearer token. */
    metricsAuth: boolean;
    /** Address where a `worker` process serves /healthz, /readyz and /metrics. */
    workerHost: string;
    /** Port where a `worker` process serves /healthz, /readyz and /metrics; 0 picks a free port. */
    workerPort: number;
  };
  emulator: {
    host: string;
    cloudauthPort: number;
    publicUrl: string | undefined;
    accessKeys: Record<string, string>;
    tokenSeconds: number;
    stsSeconds: number;
    ossPort: number;
    /** undefined: the OSS emulator's own URL. */
    ossEndpoint: string | undefined;
    ossDir: string | undefined;
    ossBucket: string;
    rejectNames: string[];
    reviewNames: string[];
    reviewMs: number;
    /** Raw JSON; parsed by the emulator's fault schema. */
    faults: string | undefined;
    adminEnabled: boolean;
  };
}

/** A host as `WEBHOOK_ALLOWED_HOSTS` compares it: the URL standard's form, no trailing dot. */
function urlHost(host: string): string | undefined {
  const h = host.trim();
  const bracketed = h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
  try {
    return new URL(`http://${bracketed}/`).hostname.replace(/\.$/, '');
  } catch {
    return undefined;
  }
}

/**
 * In production, webhooks to `WEBHOOK_DEFAULT_URL` carry the `token_issued` page URL (a bearer
 * link): refuse plain http unless its host is allow-listed. Names the host, never the URL.
 */
function refusePlainHttpDefaultUrl(webhooks: Config['webhooks']): void {
  if (webhooks.defaultUrl === undefined) return;
  const url = new URL(webhooks.defaultUrl);
  if (url.protocol !== 'http:') return;
  const host = url.hostname.replace(/\.$/, '');
  if (webhooks.allowedHosts.some((h) => urlHost(h) === host)) return;
  throw new ConfigError(
    `WEBHOOK_DEFAULT_URL must be https in production: plain http would send the token_issued page URL, a bearer link, in clear (or add "${host}" to WEBHOOK_ALLOWED_HOSTS)`,
  );
}

/**
 * Validates `env` against {@link CONFIG_KEYS} for a process of `role` (default `all`). Throws one
 * {@link ConfigError} naming every bad key; then refuses Cloudauth credentials without an endpoint
 * (every role but `emulator`), and in production the keys `role` needs that are missing or weak
 * (none for `emulator`). Unknown variables are ignored, except those with our `CLOUDAUTH_` and
 * `ORCHESTRATOR_` prefixes (a misspelt setting is refused); `NODE_ENV` is read to choose the mode.
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  role: ConfigRole = 'all',
): Config {
  const raw: Record<string, unknown> = {};
  const unknown = unknownSettings(env, Object.keys(CONFIG_KEYS));
  if (unknown !== undefined) throw new ConfigError(unknown);
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(CONFIG_KEYS) as [string, KeySpec<z.ZodType>][]) {
    const given = env[name];
    const value = given === undefined || given === '' ? spec.default : given;
    const parsed = spec.schema.safeParse(value);
    if (parsed.success) raw[name] = parsed.data;
    else {
      // a URL with user information carries a password (redis://:password@host)
      const withCredentials =
        typeof value === 'string' && /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(value);
      const shown = spec.secret || withCredentials ? '(secret)' : JSON.stringify(value);
      problems.push(`${name}=${shown}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join(' | ')}`);
  const r = raw as Raw;
  const resolved = resolveMode(r.ORCHESTRATOR_MODE, env);

  const config: Config = {
    mode: resolved.mode,
    logLevel: r.LOG_LEVEL,
    redisUrl: r.REDIS_URL,
    redisPrefix: r.REDIS_PREFIX,
    store: {
      encryptionKey: r.ENCRYPTION_KEY,
      encryptionKeyFile: r.ENCRYPTION_KEY_FILE,
      retentionSeconds: r.TICKET_RETENTION_SECONDS,
    },
    cloudauth: {
      endpoint: r.CLOUDAUTH_ENDPOINT,
      accessKeyId: r.CLOUDAUTH_ACCESS_KEY_ID,
      accessKeySecret: r.CLOUDAUTH_ACCESS_KEY_SECRET,
      securityToken: r.CLOUDAUTH_SECURITY_TOKEN,
      timeoutMs: r.CLOUDAUTH_TIMEOUT_MS,
      biz: r.CLOUDAUTH_BIZ,
    },
    oss: { timeoutMs: r.OSS_TIMEOUT_MS },
    images: {
      maxPixels: r.IMAGE_MAX_PIXELS,
      maxSidePx: r.IMAGE_MAX_SIDE_PX,
      decodeBudgetPixels: r.IMAGE_DECODE_BUDGET_PIXELS,
    },
    queue: {
      qps: r.CLOUDAUTH_QPS,
      qpsHeadroom: r.CLOUDAUTH_QPS_HEADROOM,
      concurrency: r.WORKER_CONCURRENCY,
      attempts: r.JOB_ATTEMPTS,
      backoffBaseMs: r.BACKOFF_BASE_MS,
      backoffCapMs: r.BACKOFF_CAP_MS,
      leaseMarginMs: r.LEASE_MARGIN_SECONDS * 1000,
      pollInitialMs: r.POLL_INITIAL_MS,
      pollMaxMs: r.POLL_MAX_MS,
      pollFactor: r.POLL_FACTOR,
      lockDurationMs: r.WORKER_LOCK_MS,
      stalledIntervalMs: r.WORKER_STALLED_INTERVAL_MS,
      reconcileIntervalSeconds: r.RECONCILE_INTERVAL_SECONDS,
      reconcileScanKeys: r.RECONCILE_SCAN_KEYS,
      shutdownTimeoutMs: r.SHUTDOWN_TIMEOUT_MS,
      keepCompletedSeconds: r.JOB_KEEP_COMPLETED_SECONDS,
      keepFailedSeconds: r.JOB_KEEP_FAILED_SECONDS,
    },
    webhooks: {
      secret: r.WEBHOOK_SECRET,
      secretFile: r.WEBHOOK_SECRET_FILE,
      defaultUrl: r.WEBHOOK_DEFAULT_URL,
      allowedHosts: r.WEBHOOK_ALLOWED_HOSTS,
      timeoutMs: r.WEBHOOK_TIMEOUT_MS,
      attempts: r.WEBHOOK_ATTEMPTS,
      concurrency: r.WEBHOOK_CONCURRENCY,
    },
    api: {
      host: r.API_HOST,
      port: r.API_PORT,
      tokens: r.API_TOKENS,
      tokenFile: r.API_TOKEN_FILE,
      bodyLimitBytes: r.API_BODY_LIMIT_BYTES,
      batchMax: r.API_BATCH_MAX,
    },
    ops: {
      metricsAuth: r.METRICS_AUTH,
      workerHost: r.WORKER_OPS_HOST,
      workerPort: r.WORKER_OPS_PORT,
    },
    emulator: {
      host: r.EMULATOR_HOST,
      cloudauthPort: r.EMULATOR_CLOUDAUTH_PORT,
      publicUrl: r.EMULATOR_PUBLIC_URL,
      accessKeys: r.EMULATOR_ACCESS_KEYS,
      tokenSeconds: r.EMULATOR_TOKEN_SECONDS,
      stsSeconds: r.EMULATOR_STS_SECONDS,
      ossPort: r.EMULATOR_OSS_PORT,
      ossEndpoint: r.EMULATOR_OSS_ENDPOINT,
      ossDir: r.EMULATOR_OSS_DIR,
      ossBucket: r.EMULATOR_OSS_BUCKET,
      rejectNames: r.EMULATOR_REJECT_NAMES,
      reviewNames: r.EMULATOR_REVIEW_NAMES,
      reviewMs: r.EMULATOR_REVIEW_MS,
      faults: r.EMULATOR_FAULTS,
      adminEnabled: r.EMULATOR_ADMIN_ENABLED,
    },
  };

  // the emulator is a test double: no mode makes it refuse
  if (role === 'emulator') return config;
  const stray = credentialsWithoutEndpoint(config) ?? embeddedWithRealEndpoint(config);
  if (stray !== undefined) throw new ConfigError(stray);
  if (config.mode === 'production') {
    const missing = missingInProduction(config, role, resolved);
    if (missing !== undefined) throw new ConfigError(missing);
    // https endpoints and strong secrets: the rules are in config-checks.ts
    const weak = productionProblems(config, PRODUCTION_REQUIREMENTS[role]);
    if (weak.length > 0) throw new ConfigError(weakInProduction(weak, resolved));
    // the roles that deliver webhooks (they sign them)
    if (PRODUCTION_REQUIREMENTS[role].includes('WEBHOOK_SECRET')) {
      refusePlainHttpDefaultUrl(config.webhooks);
    }
  }
  if (callsCloudauth(role) && config.cloudauth.endpoint !== undefined) {
    if (!config.cloudauth.accessKeyId || !config.cloudauth.accessKeySecret) {
      throw new ConfigError(
        'CLOUDAUTH_ENDPOINT is set: CLOUDAUTH_ACCESS_KEY_ID and CLOUDAUTH_ACCESS_KEY_SECRET are required too',
      );
    }
  }
  return config;
}

/** Rows for the README's configuration table: name, default, description. */
export function describeConfig(): { name: string; default: string; description: string }[] {
  return Object.entries(CONFIG_KEYS).map(([name, spec]) => ({
    name,
    default:
      spec.secret && spec.default !== undefined ? '(demo value)' : (spec.default ?? '(unset)'),
    description: spec.description,
  }));
}
