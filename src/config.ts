/**
 * The one place that reads configuration. Every key is an environment variable, declared once in
 * {@link SETTINGS}: its variable name, how its text parses (a zod schema, with any conversion such
 * as seconds to milliseconds), its default, its description, and by its place in that tree where
 * it lives in {@link Config}. The `Config` type, {@link loadConfig}'s mapping, the flat
 * {@link CONFIG_KEYS}, the typed {@link CONFIG_DEFAULTS} and the configuration reference
 * (docs/reference/configuration.md, `npm run docs`) all come from it. `loadConfig(env, role)` is pure: pass `process.env` at the
 * edge. How the mode is chosen and what each role needs in production: `config-mode.ts`.
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
import { parseBizEntry, type BizProfile } from './domain/biz.js';
import { SCHEMES, type Scheme } from './domain/ticket.js';
import { ConfigError } from './errors.js';
import { WEBHOOK_SECRET_PREFIX, webhookSecretProblem } from './webhooks/secret.js';

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

/** `host:port` pairs, comma separated (IPv6 hosts in brackets: `[::1]:26379`). */
const hostPortList = z.string().transform((s, ctx) => {
  const out: { host: string; port: number }[] = [];
  for (const item of s.split(',').map((x) => x.trim())) {
    if (item === '') continue;
    const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(item);
    const port = Number(m?.[2]);
    if (!m?.[1] || !(port >= 1 && port <= 65535)) {
      ctx.addIssue({ code: 'custom', message: 'expected host:port pairs, comma separated' });
      return z.NEVER;
    }
    out.push({ host: m[1].replace(/^\[(.*)\]$/, '$1'), port });
  }
  if (out.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'expected at least one host:port' });
    return z.NEVER;
  }
  return out;
});

// Schemes are a domain notion (they decide a ticket's flow); re-exported for the settings' users.
export { SCHEMES, type Scheme };

/**
 * `Biz=Scheme` (legacy API) or `Biz=financial:<ProductCode>:<SceneId>[:precheck]` (financial-grade)
 * pairs, comma separated, e.g. `RPMin=RPMin,kyc=financial:ID_PRO:1000000006` (`src/domain/biz.ts`).
 */
const bizMap = z.string().transform((s, ctx) => {
  const out: Record<string, BizProfile> = {};
  for (const pair of s.split(',').map((p) => p.trim())) {
    if (pair === '') continue;
    const i = pair.indexOf('=');
    const biz = i < 0 ? '' : pair.slice(0, i).trim();
    const value = i < 0 ? '' : pair.slice(i + 1).trim();
    const parsed = parseBizEntry(value);
    if (!biz || 'problem' in parsed) {
      const why = biz && 'problem' in parsed ? `: ${parsed.problem}` : '';
      ctx.addIssue({
        code: 'custom',
        message: `"${pair}" is not Biz=Scheme or Biz=financial:<ProductCode>:<SceneId>[:precheck]${why}`,
      });
      return z.NEVER;
    }
    const { profile } = parsed;
    if (Object.hasOwn(out, biz)) {
      ctx.addIssue({ code: 'custom', message: `Biz "${biz}" is configured twice` });
      return z.NEVER;
    }
    out[biz] = profile;
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

/** A webhook signing secret (`whsec_…`, or a text secret; see `src/webhooks/secret.ts`). */
const webhookSecret = z.string().superRefine((s, ctx) => {
  const problem = webhookSecretProblem(s);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

/** At most this many previous secrets: with the current one, the legacy verifier reads eight. */
export const MAX_PREVIOUS_WEBHOOK_SECRETS = 7;

/** Secrets, comma separated (base64 has no comma); each named by its place, never quoted. */
const webhookSecretList = csv.superRefine((list, ctx) => {
  if (list.length > MAX_PREVIOUS_WEBHOOK_SECRETS) {
    ctx.addIssue({
      code: 'custom',
      message: `at most ${MAX_PREVIOUS_WEBHOOK_SECRETS} secrets (${list.length} given)`,
    });
  }
  list.forEach((secret, i) => {
    const problem = webhookSecretProblem(secret);
    if (problem !== undefined) {
      ctx.addIssue({ code: 'custom', message: `secret ${i + 1} of ${list.length}: ${problem}` });
    }
  });
});

/** At most this many secrets for one host (the legacy verifier reads eight signatures). */
export const MAX_WEBHOOK_SECRETS_PER_HOST = 8;

/**
 * A host name or IP of `WEBHOOK_SECRETS_BY_HOST` as deliveries compare it: the URL standard's form
 * (lower case, IDNA, IPv4 normalised), no trailing dot, an IPv6 literal without its brackets. No
 * port, path or user information: undefined for those.
 */
function secretHost(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(`http://${text}/`);
  } catch {
    return undefined;
  }
  if (url.port !== '' || url.username !== '' || url.password !== '' || url.pathname !== '/') {
    return undefined;
  }
  if (url.search !== '' || url.hash !== '' || /[/?#@]/.test(text)) return undefined;
  const host = url.hostname.replace(/\.$/, '').replace(/^\[(.*)\]$/, '$1');
  return host === '' ? undefined : host;
}

/**
 * `host=whsec_…` pairs, comma separated: the secrets of each destination host (a host listed twice
 * has two, both signing, the first listed first: its rotation). Messages name the host, never a
 * secret.
 */
const secretsByHost = z.string().transform((s, ctx) => {
  const byHost = new Map<string, string[]>();
  for (const pair of s.split(',').map((p) => p.trim())) {
    if (pair === '') continue;
    const i = pair.indexOf('=');
    const hostText = i < 0 ? '' : pair.slice(0, i).trim();
    const secret = i < 0 ? '' : pair.slice(i + 1).trim();
    // a pair written the wrong way round would split inside the secret's base64 (at a `=`) and
    // make a "host" of the secret: refused without quoting it
    const host = hostText.toLowerCase().startsWith(WEBHOOK_SECRET_PREFIX)
      ? undefined
      : secretHost(hostText);
    if (host === undefined || secret === '') {
      ctx.addIssue({
        code: 'custom',
        message: `expected host=${WEBHOOK_SECRET_PREFIX}… pairs, comma separated (a host name or IP, no port)`,
      });
      return z.NEVER;
    }
    const problem = webhookSecretProblem(secret, true);
    if (problem !== undefined) {
      // the host is named only once it parsed as one (a secret never is)
      ctx.addIssue({ code: 'custom', message: `the secret of host "${host}": ${problem}` });
      return z.NEVER;
    }
    const secrets = byHost.get(host) ?? [];
    if (secrets.length >= MAX_WEBHOOK_SECRETS_PER_HOST) {
      ctx.addIssue({
        code: 'custom',
        message: `"${host}" has more than ${MAX_WEBHOOK_SECRETS_PER_HOST} secrets`,
      });
      return z.NEVER;
    }
    byHost.set(host, [...secrets, secret]);
  }
  // an object with own properties only (fromEntries defines even "__proto__" as a property)
  return Object.fromEntries(byHost);
});

/** An OSS bucket name: 3 to 63 lower-case letters, digits and hyphens, no hyphen at either end. */
const OSS_BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

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

/**
 * One configuration key: the environment variable `env`, whose text `schema` parses into the value
 * the configuration holds. A class so that {@link loadConfig} tells a key from a section of
 * {@link SETTINGS} by `instanceof`.
 */
export class Setting<E extends string = string, S extends z.ZodType = z.ZodType> {
  /** The default as it would be written in the environment; undefined means "unset". */
  readonly default: string | undefined;

  constructor(
    /** The environment variable. */
    readonly env: E,
    /** Parses the variable's text (or the default) into the configuration's value. */
    readonly schema: S,
    dflt: string | undefined,
    /** What the key means, for the configuration reference. */
    readonly description: string,
    /** Never printed (the reference shows "(demo value)", refusals "(secret)"). */
    readonly secret: boolean,
  ) {
    this.default = dflt;
  }
}

const setting = <const E extends string, S extends z.ZodType>(
  env: E,
  schema: S,
  dflt: string | undefined,
  description: string,
  secret = false,
): Setting<E, S> => new Setting(env, schema, dflt, description, secret);

/** A section of {@link Config} (`store`, `queue`, …): its keys by field name. */
type Section = Record<string, Setting>;

/** The shape of {@link SETTINGS}: keys at the top of {@link Config}, and sections of keys. */
type SettingsTree = Record<string, Setting | Section>;

/**
 * Every configuration key, in the shape of {@link Config}: a field is a key, an object a section.
 * The order is the configuration reference's. The doc comment of a field shows on the `Config` field made
 * from it; the description is the operator's (docs/reference/configuration.md).
 */
export const SETTINGS = {
  /** As given; {@link Config.mode} is the resolved mode (see config-mode.ts). */
  mode: setting(
    'ORCHESTRATOR_MODE',
    z.enum(['embedded', 'production']).optional(),
    undefined,
    "`embedded` runs on local defaults (the Cloudauth emulator where no `CLOUDAUTH_ENDPOINT` is set, generated secrets in files) and marks every verdict its workers reach `emulated: true`; `production` refuses to start without what its role uses (where `REDIS_URL` is named, `REDIS_SENTINELS` or `REDIS_CLUSTER_NODES` will do): `all` a real `CLOUDAUTH_ENDPOINT` and credentials, `REDIS_URL`, `ENCRYPTION_KEY`, `WEBHOOK_SECRET` and `API_TOKENS`; `api` `REDIS_URL`, `ENCRYPTION_KEY` and `API_TOKENS`; `worker` the Cloudauth endpoint and credentials, `REDIS_URL`, `ENCRYPTION_KEY` and `WEBHOOK_SECRET`; the CLI `REDIS_URL` and `ENCRYPTION_KEY`; `emulator` nothing. It also refuses an `http://` `CLOUDAUTH_ENDPOINT`, the emulator's key pair, and weak secrets (see each one: no dictionary, rules that refuse typed and placeholder values, never a long enough random one). Unset: `production` when `NODE_ENV=production`, any of `CLOUDAUTH_ENDPOINT`, `CLOUDAUTH_ACCESS_KEY_ID`, `CLOUDAUTH_ACCESS_KEY_SECRET`, `CLOUDAUTH_SECURITY_TOKEN`, `ENCRYPTION_KEY`, `WEBHOOK_SECRET`, `API_TOKENS` is set, or `REDIS_URL`, `REDIS_SENTINELS` or `REDIS_CLUSTER_NODES` names a host other than loopback; else `embedded`. Cloudauth credentials without `CLOUDAUTH_ENDPOINT` refuse to start in either mode, embedded mode refuses an Alibaba Cloud (`*.aliyuncs.com`) endpoint, and a `CLOUDAUTH_*` or `ORCHESTRATOR_*` variable that is no setting (a misspelling) refuses to start.",
  ),
  logLevel: setting(
    'LOG_LEVEL',
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    'info',
    'pino log level. Secrets and personal data are redacted at every level.',
  ),
  /** undefined: chosen by `chooseLogFormat` (src/logger.ts). */
  logFormat: setting(
    'LOG_FORMAT',
    z.enum(['json', 'pretty']).optional(),
    undefined,
    "How the process roles write their logs: `json` (one object a line, for a collector) or `pretty` (pino-pretty's text, for a person). Unset: `pretty` when standard output is a terminal and the mode is not `production`, `json` otherwise (a production process is never pretty unless asked). Redaction is the same in both. The CLI's own warnings stay JSON on standard error.",
  ),
  /** undefined: `redis://127.0.0.1:6379`. */
  redisUrl: setting(
    'REDIS_URL',
    z
      .string()
      .url()
      .refine((u) => /^rediss?:\/\//i.test(u), 'expected a redis:// or rediss:// URL')
      .optional(),
    undefined,
    "Redis connection URL of one node (or of a managed service's single endpoint): `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS (server certificate verified; `REDIS_TLS_CA_FILE` for a private CA). Unset, with neither `REDIS_SENTINELS` nor `REDIS_CLUSTER_NODES`: `redis://127.0.0.1:6379`. A `redis://` URL to a host other than loopback is logged at warn at start: use `rediss://` (TLS).",
  ),
  /** Prefix of every ticket-store key. */
  redisPrefix: setting(
    'REDIS_PREFIX',
    z.string().regex(/^[A-Za-z0-9_.-]+$/),
    'ca',
    'Prefix of every key the ticket store writes to Redis (`<prefix>:t:{<ticketId>}` and its indexes).',
  ),
  /**
   * The Redis topology beyond one URL (Sentinel or Cluster), its credentials and TLS, and how
   * writes wait for replicas. `src/adapters/redis/connection.ts` builds every connection from it.
   */
  redis: {
    /** Sentinel addresses; set: Sentinel topology. */
    sentinels: setting(
      'REDIS_SENTINELS',
      hostPortList.optional(),
      undefined,
      'Sentinel addresses (`host:port`, comma separated): the orchestrator asks them for the current primary of `REDIS_SENTINEL_NAME` and follows every failover. Exclusive with `REDIS_URL` and `REDIS_CLUSTER_NODES`. Credentials: `REDIS_USERNAME`/`REDIS_PASSWORD` for the data nodes, `REDIS_SENTINEL_PASSWORD` for the Sentinels; TLS: `REDIS_TLS`.',
    ),
    /** The primary's name the Sentinels monitor. */
    sentinelName: setting(
      'REDIS_SENTINEL_NAME',
      z.string().min(1).max(200),
      'mymaster',
      'The name the Sentinels monitor the primary under (`sentinel monitor <name> …`).',
    ),
    sentinelPassword: setting(
      'REDIS_SENTINEL_PASSWORD',
      z.string().min(1).optional(),
      undefined,
      "The Sentinels' own password (`requirepass` on the Sentinels), when they have one. Never logged.",
      true,
    ),
    /** Cluster seed nodes; set: Cluster topology. */
    clusterNodes: setting(
      'REDIS_CLUSTER_NODES',
      hostPortList.optional(),
      undefined,
      "Redis Cluster seed nodes (`host:port`, comma separated; any of the cluster's nodes, the client learns the rest). Exclusive with `REDIS_URL` and `REDIS_SENTINELS`. Every key of one ticket shares a hash slot, and the queues' keys share one (`{<prefix>:q}`), so scripts never span slots; listings and the reconciler's walk visit every primary.",
    ),
    username: setting(
      'REDIS_USERNAME',
      z.string().min(1).optional(),
      undefined,
      'ACL user for the Redis data nodes (Sentinel and Cluster; with `REDIS_URL` it fills in a URL that names none).',
    ),
    password: setting(
      'REDIS_PASSWORD',
      z.string().min(1).optional(),
      undefined,
      'Password for the Redis data nodes (Sentinel and Cluster; with `REDIS_URL` it fills in a URL that names none), so that it need not be written into a URL. Never logged.',
      true,
    ),
    tls: setting(
      'REDIS_TLS',
      bool,
      'false',
      'TLS to the Sentinels and the data nodes, or to the Cluster nodes (a `REDIS_URL` says it by `rediss://`). Server certificates are verified (`REDIS_TLS_CA_FILE` for a private CA).',
    ),
    tlsCaFile: setting(
      'REDIS_TLS_CA_FILE',
      z.string().min(1).optional(),
      undefined,
      "PEM file of the CA that signed the Redis servers' certificates, for a managed service or a private CA; unset: the system's trusted CAs.",
    ),
    /** undefined: 1 on Sentinel and Cluster, 0 on one URL. */
    waitReplicas: setting(
      'REDIS_WAIT_REPLICAS',
      int(0, 16).optional(),
      undefined,
      "Replicas that must acknowledge (`WAIT`) an accepted ticket before intake answers 202, and a ticket's submit mark before the paid call it guards. Unset: 1 on Sentinel and Cluster, 0 with `REDIS_URL` (a single node has no replica to wait for). When fewer acknowledge within `REDIS_WAIT_TIMEOUT_MS`, intake answers 503 `STORE_UNAVAILABLE` with `Retry-After` (the ticket is kept: sending the same TicketId again is safe) and the worker retries its job before making the call. 0 turns the wait off.",
    ),
    waitTimeoutMs: setting(
      'REDIS_WAIT_TIMEOUT_MS',
      int(1, 60_000),
      '1000',
      'How long a write waits for `REDIS_WAIT_REPLICAS` acknowledgements, in ms.',
    ),
  },
  /** The ticket store in Redis: its encryption key and how long it keeps finished tickets. */
  store: {
    /** Base64 of the 32-byte AES-256-GCM key; undefined: the key file (embedded mode only). */
    encryptionKey: setting(
      'ENCRYPTION_KEY',
      z
        .string()
        .refine(
          (s) => /^[A-Za-z0-9+/]{43}=$/.test(s) && Buffer.from(s, 'base64').length === 32,
          'expected the base64 of 32 random bytes (`openssl rand -base64 32`)',
        )
        .optional(),
      undefined,
      'AES-256-GCM key (base64 of 32 bytes) for the lease, binding and user data held in Redis, and (through keys derived from it) the staged photos. Required in production, where its 32 bytes must have at least 20 distinct values, no run of 8 bytes in sequence, and not all be printable text (`openssl rand -base64 32` always passes). Unset in embedded mode: a key kept in `ENCRYPTION_KEY_FILE`, created on first use. Never logged.',
      true,
    ),
    /** Where embedded mode keeps a generated key. */
    encryptionKeyFile: setting(
      'ENCRYPTION_KEY_FILE',
      z.string().min(1),
      'data/encryption.key',
      'Where embedded mode keeps its generated encryption key (base64, mode 0600) when `ENCRYPTION_KEY` is unset.',
    ),
    /** How long finished tickets are kept, in seconds. */
    retentionSeconds: setting(
      'TICKET_RETENTION_SECONDS',
      int(60, 10 * 365 * 86_400),
      '2592000',
      'How long a finished ticket (passed, not passed, expired, failed, cancelled) and its history are kept, in seconds. Default 30 days.',
    ),
  },
  /**
   * Where photo bytes wait between intake and the worker that sends them to Cloudauth (the
   * material staging store, `src/adapters/staging/`), and how long personal data is kept.
   */
  staging: {
    backend: setting(
      'STAGING_BACKEND',
      z.enum(['directory', 'oss']),
      'directory',
      'Where intake stages photo bytes (encrypted) for the workers: `directory` (`STAGING_DIR`, a path the API, the CLI in direct mode and every worker share) or `oss` (a bucket of your own, `STAGING_OSS_*`). Redis holds only references.',
    ),
    dir: setting(
      'STAGING_DIR',
      z.string().min(1),
      'data/staging',
      'The staging directory when `STAGING_BACKEND=directory` (created 0700; objects 0600). In docker-compose, a volume the api and worker services share.',
    ),
    /** undefined: the OSS emulator of embedded mode. */
    ossEndpoint: setting(
      'STAGING_OSS_ENDPOINT',
      z.string().min(1).optional(),
      undefined,
      'OSS endpoint of the staging bucket when `STAGING_BACKEND=oss`, e.g. `https://oss-cn-hangzhou-internal.aliyuncs.com`. Required in production with `oss`; unset in embedded mode: the OSS emulator.',
    ),
    ossBucket: setting(
      'STAGING_OSS_BUCKET',
      z.string().regex(OSS_BUCKET_NAME).optional(),
      undefined,
      "The staging bucket when `STAGING_BACKEND=oss`: a bucket of your own, not Cloudauth's. Required with `oss`.",
    ),
    ossPrefix: setting(
      'STAGING_OSS_PREFIX',
      z
        .string()
        .regex(/^([A-Za-z0-9_.-]+\/)+$/, 'expected a non-empty prefix ending in / (staging/)'),
      'staging/',
      'Key prefix of staged objects in `STAGING_OSS_BUCKET`, ending in `/`: the sweep takes every key under it for a staged object, so it is never empty.',
    ),
    ossAccessKeyId: setting(
      'STAGING_OSS_ACCESS_KEY_ID',
      z.string().min(1).optional(),
      undefined,
      'AccessKeyId of a RAM user with read, write, delete and list on the staging bucket (its own, not the Cloudauth STS lease). Required with `oss`.',
    ),
    ossAccessKeySecret: setting(
      'STAGING_OSS_ACCESS_KEY_SECRET',
      z.string().min(1).optional(),
      undefined,
      'AccessKeySecret of `STAGING_OSS_ACCESS_KEY_ID`. Never logged.',
      true,
    ),
    materialRetentionSeconds: setting(
      'MATERIAL_RETENTION_SECONDS',
      int(0, 365 * 86_400),
      '604800',
      'How long a `failed` or `expired` ticket keeps its personal data (name, ID number, staged photos) so that an operator can retry it, in seconds; then it is erased and a retry is refused. `passed`, `not_passed` and `cancelled` tickets are erased when they finish. Default 7 days.',
    ),
    sweepIntervalSeconds: setting(
      'STAGING_SWEEP_INTERVAL_SECONDS',
      int(0, 86_400),
      '300',
      'How often each worker process erases what is due (tickets past `MATERIAL_RETENTION_SECONDS`, erasures a crash interrupted) and removes staged objects no ticket references; 0 turns the sweep off.',
    ),
    orphanGraceSeconds: setting(
      'STAGING_ORPHAN_GRACE_SECONDS',
      int(60, 7 * 86_400),
      '3600',
      'Staged objects of a TicketId that has no ticket are removed by the sweep once this old (an intake that crashed, or was refused, between staging and creating the ticket).',
    ),
  },
  /** The Cloudauth endpoint, its credentials and the registered Biz scenarios. */
  cloudauth: {
    /** undefined: use the embedded emulator. */
    endpoint: setting(
      'CLOUDAUTH_ENDPOINT',
      z.string().url().optional(),
      undefined,
      "Cloudauth POP endpoint, e.g. `https://cloudauth.aliyuncs.com`; `https://` in production (names, ID numbers and STS credentials cross it). Setting it selects production mode unless `ORCHESTRATOR_MODE=embedded` is given (as when it is an emulator's URL). Unset in embedded mode: the Cloudauth emulator.",
    ),
    accessKeyId: setting(
      'CLOUDAUTH_ACCESS_KEY_ID',
      z.string().min(1).optional(),
      undefined,
      'AccessKeyId for Cloudauth. Refused without `CLOUDAUTH_ENDPOINT` in every mode; setting it selects production mode unless `ORCHESTRATOR_MODE=embedded` is given. Unset in embedded mode without an endpoint: the emulator demo key.',
    ),
    accessKeySecret: setting(
      'CLOUDAUTH_ACCESS_KEY_SECRET',
      z.string().min(1).optional(),
      undefined,
      "AccessKeySecret for Cloudauth. Refused without `CLOUDAUTH_ENDPOINT`, like `CLOUDAUTH_ACCESS_KEY_ID`. In production it must pass the secret strength rule (see `API_TOKENS`) and not be the emulator's. Never logged.",
      true,
    ),
    securityToken: setting(
      'CLOUDAUTH_SECURITY_TOKEN',
      z.string().min(1).optional(),
      undefined,
      'STS SecurityToken when the Cloudauth credentials are temporary. Refused without `CLOUDAUTH_ENDPOINT`, like `CLOUDAUTH_ACCESS_KEY_ID`. Never logged.',
      true,
    ),
    timeoutMs: setting(
      'CLOUDAUTH_TIMEOUT_MS',
      int(100, 120_000),
      '10000',
      'Per-request timeout of a Cloudauth call (connect and read), in milliseconds. A timeout is retried.',
    ),
    /** What a ContrastFaceVerify whose answer was lost leads to. */
    unknownSubmission: setting(
      'UNKNOWN_SUBMISSION',
      z.enum(['fail', 'resubmit']),
      'fail',
      "What happens to a financial-grade `ID_MIN` ticket whose ContrastFaceVerify was sent but whose answer was lost (a worker stopped during the call, a timeout, a connection cut after sending). ContrastFaceVerify cannot be looked up afterwards and Cloudauth documents no deduplication, so `fail` (at most once) ends the ticket `failed` with `SUBMISSION_OUTCOME_UNKNOWN` (an operator's `retry` sends it again); `resubmit` (at least once) sends it again at once, which Cloudauth may bill twice. A call refused with a code, or never sent, is made again either way.",
    ),
    /** Biz → its API family and scheme or scene. */
    biz: setting(
      'CLOUDAUTH_BIZ',
      bizMap,
      'RPBasic=RPBasic,RPBioOnly=RPBioOnly,RPH5BioOnly=RPH5BioOnly,RPMin=RPMin',
      "The Biz scenarios tickets may name, comma separated, each with its API family: `Biz=Scheme` runs on the legacy API 2018-09-16 with a Biz registered in the console and bound to that scheme (`RPMin` server flow, the others the H5 page); `Biz=financial:<ProductCode>:<SceneId>` on the financial-grade API 2019-03-07 with a console scene: `ID_PRO` the person's browser (a start link, InitFaceVerify, DescribeFaceVerify), `ID_MIN` the server (ContrastFaceVerify with the face photo); `:precheck` adds Id2MetaVerify first (a mismatch ends the ticket `not_passed` before the billed face call). The emulator registers the same list.",
    ),
  },
  /** Material uploads to OSS, and the OSS staging store's requests. */
  oss: {
    timeoutMs: setting(
      'OSS_TIMEOUT_MS',
      int(100, 600_000),
      '30000',
      'Per-request timeout of a material upload to OSS, in milliseconds. A timeout is retried.',
    ),
    /** `v4` (OSS4-HMAC-SHA256) or `v1` (`OSS <id>:<signature>`), for every OSS request. */
    signatureVersion: setting(
      'OSS_SIGNATURE_VERSION',
      z.enum(['v4', 'v1']),
      'v4',
      'OSS request signature of material uploads and of the OSS staging store: `v4` (OSS4-HMAC-SHA256; OSS is retiring V1, and buckets created since 2025-09-01 accept only V4) or `v1` for an old bucket that needs it.',
    ),
    /** ali-oss `region`, `oss-<region id>`: the fallback when an endpoint names no region. */
    region: setting(
      'OSS_REGION',
      z
        .string()
        .regex(/^oss-[a-z]{2,}(-[a-z0-9]+)+$/, 'expected oss-<region id>, e.g. oss-cn-hangzhou'),
      'oss-cn-hangzhou',
      "OSS region in ali-oss's `oss-<region id>` form, for an endpoint that names none (an IP or a private host, such as the emulator's): V4 signs its region id (`cn-hangzhou`), and to an IP ali-oss sends the Host `<bucket>.oss-<region id>.aliyuncs.com`. An endpoint `oss-<region id>[-internal].aliyuncs.com` (the `StsToken.EndPoint` of a lease, `STAGING_OSS_ENDPOINT`) gives its own region instead.",
    ),
  },
  /** Limits on image materials, read from their headers before anything decodes them. */
  images: {
    /** Most pixels an image material may have (from its header, before decoding). */
    maxPixels: setting(
      'IMAGE_MAX_PIXELS',
      int(250_000, 268_402_689),
      '25000000',
      'Most pixels (width × height) an image material may have, read from its header before anything decodes it: larger ones are refused at intake (HTTP, producer, CLI preflight) and by the worker. Default 25 MP; a decoded image takes 3 bytes per pixel.',
    ),
    /** Longest side an image material may have, in pixels. */
    maxSidePx: setting(
      'IMAGE_MAX_SIDE_PX',
      int(480, 65_535),
      '16384',
      'Longest side an image material may have, in pixels, checked with IMAGE_MAX_PIXELS: refuses strips such as 25000000×1 that are within the pixel count but no photo.',
    ),
    /** Pixels one process decodes at once (a BMP counts twice). */
    decodeBudgetPixels: setting(
      'IMAGE_DECODE_BUDGET_PIXELS',
      int(250_000, 1_073_741_824),
      '50000000',
      'Pixels one process decodes and fits at once, whatever WORKER_CONCURRENCY is: an image waits until its pixels fit in what the images decoding now leave (a BMP counts twice its pixels: it is decoded whole, where JPEG and PNG stream); one larger than the whole budget decodes alone. Default two images at the default IMAGE_MAX_PIXELS, about 80 MB of decoding for JPEG and PNG, 130 MB for one BMP.',
    ),
  },
  /** The ticket jobs: call rates, concurrency, retries, polling, locks, reconciling, retention. */
  queue: {
    qps: setting(
      'CLOUDAUTH_QPS',
      rates,
      '*=20',
      "Calls per second allowed per Cloudauth action across all workers, as `Action=qps` pairs; `*` for the others; 0 for no limit. The legacy limits are not published: set your account's.",
    ),
    qpsHeadroom: setting(
      'CLOUDAUTH_QPS_HEADROOM',
      z.coerce.number().min(0).max(1),
      '0.03',
      'Extra spacing between calls, as a fraction of 1000/qps ms, so that arrival jitter at the provider never puts qps + 1 calls into one second.',
    ),
    concurrency: setting(
      'WORKER_CONCURRENCY',
      int(1, 10_000),
      '50',
      'Tickets one worker process handles at once.',
    ),
    attempts: setting(
      'JOB_ATTEMPTS',
      int(1, 100),
      '8',
      'Processing attempts per ticket before it fails (status re-checks do not count).',
    ),
    backoffBaseMs: setting(
      'BACKOFF_BASE_MS',
      int(1, 3_600_000),
      '1000',
      'First retry delay ceiling, in ms; doubles per attempt, full jitter.',
    ),
    backoffCapMs: setting(
      'BACKOFF_CAP_MS',
      int(1, 86_400_000),
      '60000',
      'Longest retry delay, in ms.',
    ),
    /** In milliseconds: the variable is in seconds. */
    leaseMarginMs: setting(
      'LEASE_MARGIN_SECONDS',
      int(0, 86_400).transform((seconds) => seconds * 1000),
      '120',
      'Renew a VerifyToken or STS credential that runs out within this margin (at most a quarter of its lifetime).',
    ),
    pollInitialMs: setting(
      'POLL_INITIAL_MS',
      int(10, 3_600_000),
      '2000',
      'First GetStatus re-check delay, in ms.',
    ),
    pollMaxMs: setting(
      'POLL_MAX_MS',
      int(10, 3_600_000),
      '30000',
      'Longest GetStatus re-check delay, in ms.',
    ),
    pollFactor: setting(
      'POLL_FACTOR',
      z.coerce.number().min(1).max(10),
      '1.5',
      'Growth of the re-check delay.',
    ),
    lockDurationMs: setting(
      'WORKER_LOCK_MS',
      int(1000, 3_600_000),
      '30000',
      "Job lock duration, in ms: a crashed worker's tickets are taken over by another after about this long.",
    ),
    stalledIntervalMs: setting(
      'WORKER_STALLED_INTERVAL_MS',
      int(1000, 3_600_000),
      '15000',
      'How often workers look for stalled jobs, in ms.',
    ),
    reconcileIntervalSeconds: setting(
      'RECONCILE_INTERVAL_SECONDS',
      int(0, 86_400),
      '300',
      'How often the workers check that every unfinished ticket has a job (re-adding missing ones, running again the job of a ticket retried while it ran, failing tickets whose job failed), in seconds; one process per round. 0 turns it off.',
    ),
    /** Keys a reconcile round's walk over the tickets' hashes examines (about); 0: no walk. */
    reconcileScanKeys: setting(
      'RECONCILE_SCAN_KEYS',
      int(0, 100_000_000),
      '100000',
      "Keys each reconcile round's walk over the tickets' hashes examines, about (SCAN, 1000 a call; the next round goes on where it stopped). It finds tickets missing from the indexes: restores their entries and, when unfinished, their job; gives finished ones without an expiry their retention. 0 turns the walk off.",
    ),
    shutdownTimeoutMs: setting(
      'SHUTDOWN_TIMEOUT_MS',
      int(0, 600_000),
      '20000',
      'On SIGTERM/SIGINT, how long active tickets may finish before the process exits, in ms.',
    ),
    keepCompletedSeconds: setting(
      'JOB_KEEP_COMPLETED_SECONDS',
      int(0, 31_536_000),
      '86400',
      'How long finished jobs stay in the queue (the tickets stay in the store for TICKET_RETENTION_SECONDS).',
    ),
    keepFailedSeconds: setting(
      'JOB_KEEP_FAILED_SECONDS',
      int(0, 31_536_000),
      '604800',
      'How long failed jobs stay in the queue.',
    ),
  },
  /** Outbound webhooks: signing, destinations and delivery. */
  webhooks: {
    /** The signing secret; undefined: the secret file (embedded mode only). Never logged. */
    secret: setting(
      'WEBHOOK_SECRET',
      webhookSecret.optional(),
      undefined,
      'Signs every webhook the Standard Webhooks way (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`) for destinations not in `WEBHOOK_SECRETS_BY_HOST`: `whsec_` followed by the base64 of 24 to 64 random bytes, the key being those bytes (`echo "whsec_$(openssl rand -base64 32)"`). Required in production, where it must be a `whsec_` secret whose base64 passes the secret strength rule (see `API_TOKENS`). Embedded mode also takes a text secret of at least 16 characters (what earlier versions used), whose UTF-8 bytes are the key. Unset in embedded mode: a secret kept in `WEBHOOK_SECRET_FILE`, created on first use. Never logged.',
      true,
    ),
    /** Where embedded mode keeps a generated secret. */
    secretFile: setting(
      'WEBHOOK_SECRET_FILE',
      z.string().min(1),
      'data/webhook.secret',
      'Where embedded mode keeps its generated webhook signing secret (`whsec_…`, mode 0600) when `WEBHOOK_SECRET` is unset. A file an earlier version made (64 hex digits) keeps working as a text secret; delete it to get a `whsec_` one.',
    ),
    /** Older secrets that still sign, after the current one (rotation). Never logged. */
    previousSecrets: setting(
      'WEBHOOK_PREVIOUS_SECRETS',
      webhookSecretList.optional().transform((v) => v ?? []),
      undefined,
      'Secrets being retired, comma separated (at most 7): each also signs every delivery that `WEBHOOK_SECRET` signs, so `webhook-signature` carries one `v1,…` per secret and receivers can switch to the new secret at their own pace. Rotate: put the old `WEBHOOK_SECRET` here, set a new one, remove the old one once every receiver has the new. `whsec_…` or, to retire a text secret of an earlier version, that text. Never logged.',
      true,
    ),
    /** Secrets by destination host; listed hosts are signed with their own only. Never logged. */
    secretsByHost: setting(
      'WEBHOOK_SECRETS_BY_HOST',
      secretsByHost.optional().transform((v) => v ?? {}),
      undefined,
      "Per-destination secrets, `host=whsec_…` pairs comma separated (`hooks.a.example=whsec_…,hooks.b.example=whsec_…`): a delivery to a listed host (the callback URL's host name or IP, any port) is signed with that host's secret only, never with `WEBHOOK_SECRET` or `WEBHOOK_PREVIOUS_SECRETS`, so a receiver that can verify its own events cannot sign another's. A host listed twice has both secrets sign (its rotation). `whsec_` secrets only; other hosts use `WEBHOOK_SECRET`. Never logged.",
      true,
    ),
    /** Also send the deprecated legacy signature header. */
    legacySignature: setting(
      'WEBHOOK_LEGACY_SIGNATURE',
      bool,
      'false',
      'Also send the deprecated `x-cloudauth-orchestrator-signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` of earlier versions (one `v1=` per secret, each keyed with the secret\'s text as written), for receivers still verifying it with `verifyWebhook` while they move to the Standard Webhooks headers. Removed in the next release.',
    ),
    /** Destination for tickets without a callback URL; undefined: no webhook for them. */
    defaultUrl: setting(
      'WEBHOOK_DEFAULT_URL',
      z
        .string()
        .url()
        .refine((s) => /^https?:\/\//i.test(s), 'expected an http or https URL')
        .optional(),
      undefined,
      'Webhook destination for tickets accepted without a callback URL. Unset: such tickets send no webhook. In production it must be https unless its host is in `WEBHOOK_ALLOWED_HOSTS`.',
      true,
    ),
    /** Hosts or IPs delivered to even when they resolve to private addresses. */
    allowedHosts: setting(
      'WEBHOOK_ALLOWED_HOSTS',
      csv.optional().transform((v) => v ?? []),
      undefined,
      'Host names or IPs webhooks may be delivered to even though they resolve to loopback, private, link-local or other non-public addresses (refused otherwise), comma separated. In production, also the only hosts a callback URL may reach over plain `http://`.',
    ),
    /** Per-attempt delivery timeout, in ms. */
    timeoutMs: setting(
      'WEBHOOK_TIMEOUT_MS',
      int(100, 120_000),
      '5000',
      'Per-attempt timeout of a webhook delivery, in ms. A timeout is retried.',
    ),
    /** Delivery attempts before a webhook is dead-lettered. */
    attempts: setting(
      'WEBHOOK_ATTEMPTS',
      int(1, 100),
      '10',
      'Delivery attempts per webhook before it is dead-lettered (kept in the failed set for replay).',
    ),
    /** Deliveries one worker makes at once. */
    concurrency: setting(
      'WEBHOOK_CONCURRENCY',
      int(1, 10_000),
      '20',
      'Webhook deliveries one worker process makes at once.',
    ),
  },
  /** The HTTP API. */
  api: {
    /** Address the HTTP API listens on. */
    host: setting('API_HOST', z.string().min(1), '127.0.0.1', 'Address the HTTP API listens on.'),
    /** undefined: the API's own listening URL (embedded mode). */
    publicUrl: setting(
      'API_PUBLIC_URL',
      z
        .string()
        .url()
        .refine((u) => /^https?:$/.test(new URL(u).protocol), 'expected an http(s) URL')
        .transform((u) => u.replace(/\/+$/, ''))
        .optional(),
      undefined,
      "Base URL at which people's browsers and Cloudauth reach the HTTP API: the start links of financial-grade `ID_PRO` tickets and the provider's callback are built on it. Required in production when such a Biz is configured, and `https://` (Cloudauth calls back over https only). Unset in embedded mode: the API's own listening URL (`http://API_HOST:API_PORT`).",
    ),
    /** In milliseconds: the variable is in seconds. */
    startLinkMs: setting(
      'START_LINK_SECONDS',
      int(300, 30 * 86_400).transform((seconds) => seconds * 1000),
      '604800',
      "How long the start link of a financial-grade `ID_PRO` ticket stays valid (the business sends it by SMS or mail). A ticket whose link was not opened by then expires; once opened, the person has the CertifyUrl's 30 minutes to finish. Default 7 days.",
    ),
    /** undefined: Alibaba's script in production, the emulator's stand-in in embedded mode. */
    faceScriptUrl: setting(
      'FACE_VERIFY_SCRIPT_URL',
      z
        .string()
        .url()
        .refine((u) => /^https?:$/.test(new URL(u).protocol), 'expected an http(s) URL')
        .optional(),
      undefined,
      "The script the start page loads to produce MetaInfo in the person's browser (`window.getMetaInfo()`). Unset: Alibaba's `https://o.alicdn.com/yd-cloudauth/cloudauth-cdn/jsvm_all.js` in production, the Cloudauth emulator's stand-in (`/face-verify/jsvm_all.js`) in embedded mode.",
    ),
    /** 0 picks a free port. */
    port: setting('API_PORT', int(0, 65535), '8080', 'Port of the HTTP API; 0 picks a free port.'),
    /** Accepted bearer tokens; empty: the token file (embedded mode only). Never logged. */
    tokens: setting(
      'API_TOKENS',
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
    /** Where embedded mode keeps a generated token. */
    tokenFile: setting(
      'API_TOKEN_FILE',
      z.string().min(1),
      'data/api.token',
      'Where embedded mode keeps its generated API token (mode 0600) when `API_TOKENS` is unset.',
    ),
    /** Largest request body, in bytes. */
    bodyLimitBytes: setting(
      'API_BODY_LIMIT_BYTES',
      int(1024, 1024 * 1024 * 1024),
      '16777216',
      'Largest HTTP API request body, in bytes. Default 16 MB: three base64 images of 2 MB fit in one ticket.',
    ),
    /** Most tickets per batch request. */
    batchMax: setting(
      'API_BATCH_MAX',
      int(1, 100_000),
      '1000',
      'Most tickets one `POST /v1/tickets/batch` request may carry.',
    ),
  },
  /** Health, readiness and metrics endpoints. */
  ops: {
    /** `GET /metrics` requires the API bearer token. */
    metricsAuth: setting(
      'METRICS_AUTH',
      bool,
      'false',
      "`GET /metrics` on the API's port requires the API bearer token. Default no: Prometheus scrapers usually carry none, and the metrics hold counts by state, action and error code only (no ticket ids, no personal data). `/healthz` and `/readyz` never require it. A worker's ops port (`WORKER_OPS_HOST`) never asks for a token: keep it on a private interface.",
    ),
    /** Address where a `worker` process serves /healthz, /readyz and /metrics. */
    workerHost: setting(
      'WORKER_OPS_HOST',
      z.string().min(1),
      '127.0.0.1',
      'Address where a `worker` process serves `/healthz`, `/readyz` and `/metrics`.',
    ),
    /** Port where a `worker` process serves /healthz, /readyz and /metrics; 0 picks a free port. */
    workerPort: setting(
      'WORKER_OPS_PORT',
      int(0, 65535),
      '9464',
      'Port where a `worker` process serves `/healthz`, `/readyz` and `/metrics`; 0 picks a free port.',
    ),
  },
  /** The Cloudauth and OSS emulators (test doubles). */
  emulator: {
    host: setting(
      'EMULATOR_HOST',
      z.string().min(1),
      '127.0.0.1',
      'Address the emulators listen on.',
    ),
    cloudauthPort: setting(
      'EMULATOR_CLOUDAUTH_PORT',
      int(0, 65535),
      '8787',
      'Port of the Cloudauth emulator (`npm run emulator`); 0 picks a free port.',
    ),
    publicUrl: setting(
      'EMULATOR_PUBLIC_URL',
      z.string().url().optional(),
      undefined,
      'Base URL the emulator puts in `CloudauthPageUrl` when it is reached through another address. Unset: its own listening URL.',
    ),
    accessKeys: setting(
      'EMULATOR_ACCESS_KEYS',
      keyPairs,
      'LTAIdemoOrchestrator:demo-secret-change-me',
      'Access key pairs the Cloudauth emulator accepts, as `AccessKeyId:AccessKeySecret`, comma separated. The first is the demo pair printed at start-up.',
      true,
    ),
    tokenSeconds: setting(
      'EMULATOR_TOKEN_SECONDS',
      int(1, 86_400),
      '1800',
      '`VerifyToken.DurationSeconds` the emulator issues.',
    ),
    stsSeconds: setting(
      'EMULATOR_STS_SECONDS',
      int(1, 86_400),
      '1800',
      'Lifetime of the STS credentials the emulator issues with a token.',
    ),
    ossPort: setting(
      'EMULATOR_OSS_PORT',
      int(0, 65535),
      '8788',
      'Port of the OSS emulator (started with the Cloudauth emulator); 0 picks a free port.',
    ),
    /** undefined: the OSS emulator's own URL. */
    ossEndpoint: setting(
      'EMULATOR_OSS_ENDPOINT',
      z.string().url().optional(),
      undefined,
      "`StsToken.EndPoint` the Cloudauth emulator hands out. Unset: the OSS emulator's own URL.",
    ),
    ossDir: setting(
      'EMULATOR_OSS_DIR',
      z.string().min(1).optional(),
      undefined,
      'Directory where the OSS emulator keeps objects as files. Unset: memory only.',
    ),
    ossBucket: setting(
      'EMULATOR_OSS_BUCKET',
      z.string().regex(OSS_BUCKET_NAME),
      'cloudauth-emulator',
      '`StsToken.BucketName` the emulator hands out.',
    ),
    ossBuckets: setting(
      'EMULATOR_OSS_BUCKETS',
      csv.pipe(z.array(z.string().regex(OSS_BUCKET_NAME))).optional(),
      undefined,
      'Buckets the OSS emulator serves besides `EMULATOR_OSS_BUCKET`, comma separated (a bucket of your own, such as a material staging bucket). Unset: none.',
    ),
    ossAccessKeys: setting(
      'EMULATOR_OSS_ACCESS_KEYS',
      keyPairs.optional(),
      undefined,
      'Key pairs only the OSS emulator accepts, as `AccessKeyId:AccessKeySecret`, comma separated, with full access to every bucket it serves (a RAM user of your own bucket); the Cloudauth emulator does not know them. Unset: none.',
      true,
    ),
    rejectNames: setting(
      'EMULATOR_REJECT_NAMES',
      csv,
      '拒绝,Reject Me',
      'Names the emulator judges "not passed" (StatusCode 2), comma separated.',
    ),
    reviewNames: setting(
      'EMULATOR_REVIEW_NAMES',
      csv,
      '审核,Review Me',
      'Names the emulator keeps "under review" (StatusCode 0) for EMULATOR_REVIEW_MS before passing, comma separated.',
    ),
    reviewMs: setting(
      'EMULATOR_REVIEW_MS',
      int(0, 86_400_000),
      '3000',
      'How long a review-list submission stays at StatusCode 0, in milliseconds.',
    ),
    /** Raw JSON; parsed by the emulator's fault schema. */
    faults: setting(
      'EMULATOR_FAULTS',
      z.string().optional(),
      undefined,
      'Fault injection at start-up, JSON: `{"*":{"internalErrorRate":0.2},"GetStatus":{"qps":50}}` (see docs/reference/emulators.md, "Faults"). Also settable at run time through `PUT /__admin/faults`.',
    ),
    adminEnabled: setting(
      'EMULATOR_ADMIN_ENABLED',
      bool,
      'true',
      'Serve the emulator admin endpoints (`/__admin/*`: faults, counters, tickets).',
    ),
  },
} satisfies SettingsTree;

/** What a key's schema parses to. */
type ValueOf<N> = N extends Setting<string, infer S> ? z.output<S> : never;

/**
 * The values a tree of settings parses to, in the same shape. Mapped over the tree's own keys, so
 * an editor shows each field's doc comment from {@link SETTINGS}; a section is spelt out (not
 * `ConfigValues<…>` again) so that an editor shows its fields.
 */
export type ConfigValues<T extends SettingsTree> = {
  [K in keyof T]: T[K] extends Setting ? ValueOf<T[K]> : { [F in keyof T[K]]: ValueOf<T[K][F]> };
};

/** The validated configuration: the value of every key of {@link SETTINGS}, in its shape. */
export interface Config extends ConfigValues<typeof SETTINGS> {
  /** The resolved mode: `ORCHESTRATOR_MODE`, or what the environment implies (see config-mode.ts). */
  mode: OrchestratorMode;
}

/** Every {@link Setting} in a tree of settings, as a union. */
type SettingsIn<T extends SettingsTree> = {
  [K in keyof T]: T[K] extends Setting ? T[K] : T[K][keyof T[K]];
}[keyof T];

/** The settings of `tree` in declaration order. */
function settingsIn(tree: SettingsTree): Setting[] {
  return Object.values(tree).flatMap((node) =>
    node instanceof Setting ? [node] : Object.values(node),
  );
}

/** `tree`'s shape with each setting replaced by `value(setting)`. */
function valuesOf(tree: SettingsTree, value: (s: Setting) => unknown): Record<string, unknown> {
  const section = (keys: Section) =>
    Object.fromEntries(Object.entries(keys).map(([field, s]) => [field, value(s)]));
  return Object.fromEntries(
    Object.entries(tree).map(([field, node]) => [
      field,
      node instanceof Setting ? value(node) : section(node),
    ]),
  );
}

/** Every configuration key, by environment variable name, in the configuration reference's order. */
export const CONFIG_KEYS = Object.fromEntries(settingsIn(SETTINGS).map((s) => [s.env, s])) as {
  [S in SettingsIn<typeof SETTINGS> as S['env']]: S;
};

/** Read-only all the way down. */
type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/**
 * Parses `env` against every key; an unset or empty variable takes the key's default. Returns the
 * values in the shape of {@link SETTINGS}, or the problems, one per bad key, never showing a
 * secret value.
 */
function parseSettings(
  env: Record<string, string | undefined>,
): { values: ConfigValues<typeof SETTINGS> } | { problems: string[] } {
  const parsed = new Map<Setting, unknown>();
  const problems: string[] = [];
  for (const spec of settingsIn(SETTINGS)) {
    const given = env[spec.env];
    const value = given === undefined || given === '' ? spec.default : given;
    const result = spec.schema.safeParse(value);
    if (result.success) parsed.set(spec, result.data);
    else {
      // a URL with user information carries a password (redis://:password@host)
      const withCredentials =
        typeof value === 'string' && /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(value);
      const shown = spec.secret || withCredentials ? '(secret)' : JSON.stringify(value);
      problems.push(
        `${spec.env}=${shown}: ${result.error.issues.map((i) => i.message).join('; ')}`,
      );
    }
  }
  if (problems.length > 0) return { problems };
  // the shape and each value come from SETTINGS, the same object its type is made from
  return { values: valuesOf(SETTINGS, (s) => parsed.get(s)) as ConfigValues<typeof SETTINGS> };
}

/**
 * What every key is when its variable is unset, parsed and typed as {@link Config} holds it (for
 * code that needs the orchestrator's defaults without an environment, such as the producer
 * library). `mode` is undefined: it is resolved from the environment (see config-mode.ts).
 * Frozen.
 */
export const CONFIG_DEFAULTS: DeepReadonly<ConfigValues<typeof SETTINGS>> = (() => {
  const parsed = parseSettings({});
  if ('problems' in parsed) throw new Error(`a default is invalid: ${parsed.problems.join(' | ')}`);
  return deepFreeze(parsed.values);
})();

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
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
  const unknown = unknownSettings(env, Object.keys(CONFIG_KEYS));
  if (unknown !== undefined) throw new ConfigError(unknown);
  const parsed = parseSettings(env);
  if ('problems' in parsed) {
    throw new ConfigError(`invalid configuration: ${parsed.problems.join(' | ')}`);
  }
  const topologies = [
    parsed.values.redisUrl === undefined ? undefined : 'REDIS_URL',
    parsed.values.redis.sentinels === undefined ? undefined : 'REDIS_SENTINELS',
    parsed.values.redis.clusterNodes === undefined ? undefined : 'REDIS_CLUSTER_NODES',
  ].filter((k) => k !== undefined);
  if (topologies.length > 1) {
    throw new ConfigError(
      `${topologies.join(', ')} are set together: a deployment uses one Redis topology (one node, Sentinel or Cluster); set only one of them`,
    );
  }
  const resolved = resolveMode(parsed.values.mode, env);
  const config: Config = { ...parsed.values, mode: resolved.mode };
  if (config.mode === 'embedded' && env.CLOUDAUTH_BIZ === undefined) {
    // the demo shows both API families; production lists its console's scenarios itself
    config.cloudauth = {
      ...config.cloudauth,
      biz: { ...config.cloudauth.biz, ...EMBEDDED_FINANCIAL_BIZ },
    };
  }

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
  const staging = stagingProblem(config);
  if (staging !== undefined) throw new ConfigError(staging);
  if (callsCloudauth(role) && config.cloudauth.endpoint !== undefined) {
    if (!config.cloudauth.accessKeyId || !config.cloudauth.accessKeySecret) {
      throw new ConfigError(
        'CLOUDAUTH_ENDPOINT is set: CLOUDAUTH_ACCESS_KEY_ID and CLOUDAUTH_ACCESS_KEY_SECRET are required too',
      );
    }
  }
  return config;
}

/**
 * An OSS staging store needs its bucket and its own key pair in either mode, and in production its
 * endpoint too (embedded mode's default is the OSS emulator). Names the settings, never a value.
 */
function stagingProblem(config: Config): string | undefined {
  const s = config.staging;
  if (s.backend !== 'oss') return undefined;
  const missing = [
    s.ossBucket === undefined ? 'STAGING_OSS_BUCKET' : undefined,
    s.ossAccessKeyId === undefined ? 'STAGING_OSS_ACCESS_KEY_ID' : undefined,
    s.ossAccessKeySecret === undefined ? 'STAGING_OSS_ACCESS_KEY_SECRET' : undefined,
    s.ossEndpoint === undefined && config.mode === 'production'
      ? 'STAGING_OSS_ENDPOINT'
      : undefined,
  ].filter((name) => name !== undefined);
  if (missing.length === 0) return undefined;
  return `STAGING_BACKEND=oss needs ${missing.join(', ')}`;
}

/** The financial-grade demo scenes an embedded deployment without CLOUDAUTH_BIZ gets. */
export const EMBEDDED_FINANCIAL_BIZ: Readonly<Record<string, BizProfile>> = {
  FaceH5: { family: 'financial', productCode: 'ID_PRO', sceneId: '1000000006', precheck: false },
  FaceServer: {
    family: 'financial',
    productCode: 'ID_MIN',
    sceneId: '1000000007',
    precheck: true,
  },
};

/** Rows for the configuration reference (docs/reference/configuration.md): name, default, description. */
export function describeConfig(): { name: string; default: string; description: string }[] {
  return Object.entries(CONFIG_KEYS).map(([name, spec]) => ({
    name,
    default:
      spec.secret && spec.default !== undefined ? '(demo value)' : (spec.default ?? '(unset)'),
    description: spec.description,
  }));
}
