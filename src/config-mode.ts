/**
 * Which mode a process runs in, and what each process role must be given in production. Pure; no
 * I/O. {@link loadConfig} applies these rules after every key has parsed.
 *
 * Fail closed: `ORCHESTRATOR_MODE` has no default. Unset, the mode is `production` as soon as
 * anything production-like is set (`NODE_ENV=production`, a Cloudauth endpoint or credential), and
 * `embedded` (local defaults, the Cloudauth emulator) only when nothing is. Cloudauth credentials
 * without `CLOUDAUTH_ENDPOINT` refuse to start in either mode: embedded mode would sign with the
 * emulator's demo key and ignore them, and every applicant would pass.
 */
import type { Config } from './config.js';

/** The kind of process a configuration is loaded for: each validates only what it uses. */
export type ConfigRole = 'all' | 'api' | 'worker' | 'emulator' | 'cli';

/** `embedded`: local defaults and the emulators; `production`: real endpoints and secrets. */
export type OrchestratorMode = 'embedded' | 'production';

/** The Cloudauth credentials: any of them set without `CLOUDAUTH_ENDPOINT` refuses to start. */
export const CLOUDAUTH_CREDENTIAL_KEYS = [
  'CLOUDAUTH_ACCESS_KEY_ID',
  'CLOUDAUTH_ACCESS_KEY_SECRET',
  'CLOUDAUTH_SECURITY_TOKEN',
] as const;

/**
 * Keys whose presence selects production mode when `ORCHESTRATOR_MODE` is unset: the Cloudauth
 * settings, and the secrets embedded mode would otherwise make itself (whoever sets them is
 * deploying). A `REDIS_URL`, `REDIS_SENTINELS` or `REDIS_CLUSTER_NODES` naming a host other than
 * loopback counts too (see {@link resolveMode}).
 */
export const PRODUCTION_SIGNAL_KEYS = [
  'CLOUDAUTH_ENDPOINT',
  ...CLOUDAUTH_CREDENTIAL_KEYS,
  'ENCRYPTION_KEY',
  'WEBHOOK_SECRET',
  'API_TOKENS',
] as const;

/** True for a URL whose host is this machine (localhost, 127.0.0.0/8, ::1). */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return false;
  }
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/** True for a `host:port` (as `REDIS_SENTINELS` lists them) whose host is this machine. */
function isLoopbackHostPort(hostPort: string): boolean {
  return isLoopbackUrl(`redis://${hostPort}`);
}

/**
 * Alibaba Cloud's own API hosts. Embedded mode marks every verdict `emulated` and skips the
 * production checks, so it refuses to talk to one: a deployment that kept ORCHESTRATOR_MODE=embedded
 * from the compose demo would otherwise run real verifications with generated secrets.
 */
const ALIBABA_HOST = /(^|\.)aliyuncs\.com$/i;

/** The keys production mode requires of some role. */
export type ProductionKey =
  | 'CLOUDAUTH_ENDPOINT'
  | 'CLOUDAUTH_ACCESS_KEY_ID'
  | 'CLOUDAUTH_ACCESS_KEY_SECRET'
  | 'REDIS_URL'
  | 'ENCRYPTION_KEY'
  | 'WEBHOOK_SECRET'
  | 'API_TOKENS';

/**
 * What production mode requires of each role, in the order messages list them. `api` serves
 * intake and reads (no Cloudauth call, no webhook signing); `worker` calls Cloudauth and signs
 * webhooks (no HTTP API); `cli` reads and writes the store only; `emulator` is a test double and
 * requires nothing.
 */
export const PRODUCTION_REQUIREMENTS: Readonly<Record<ConfigRole, readonly ProductionKey[]>> = {
  all: [
    'CLOUDAUTH_ENDPOINT',
    'CLOUDAUTH_ACCESS_KEY_ID',
    'CLOUDAUTH_ACCESS_KEY_SECRET',
    'REDIS_URL',
    'ENCRYPTION_KEY',
    'WEBHOOK_SECRET',
    'API_TOKENS',
  ],
  api: ['REDIS_URL', 'ENCRYPTION_KEY', 'API_TOKENS'],
  worker: [
    'CLOUDAUTH_ENDPOINT',
    'CLOUDAUTH_ACCESS_KEY_ID',
    'CLOUDAUTH_ACCESS_KEY_SECRET',
    'REDIS_URL',
    'ENCRYPTION_KEY',
    'WEBHOOK_SECRET',
  ],
  cli: ['REDIS_URL', 'ENCRYPTION_KEY'],
  emulator: [],
};

/** Roles that call Cloudauth, so need its credentials wherever an endpoint is set. */
export function callsCloudauth(role: ConfigRole): boolean {
  return role === 'all' || role === 'worker';
}

/** The resolved mode and, for a mode that was not asked for, the setting that chose it. */
export interface ResolvedMode {
  mode: OrchestratorMode;
  /**
   * Undefined when `ORCHESTRATOR_MODE` was given or nothing production-like is set; else why
   * production was chosen: `NODE_ENV=production`, or the Cloudauth keys that are set.
   */
  inferredFrom: string | undefined;
}

/** True for a value that counts as set: loadConfig treats the empty string as unset. */
const isSet = (value: string | undefined): value is string => value !== undefined && value !== '';

/**
 * The mode: `ORCHESTRATOR_MODE` when given; else `production` when `NODE_ENV` is `production` (any
 * case) or a Cloudauth endpoint or credential is set; else `embedded`.
 */
export function resolveMode(
  given: OrchestratorMode | undefined,
  env: Record<string, string | undefined>,
): ResolvedMode {
  if (given !== undefined) return { mode: given, inferredFrom: undefined };
  if (env.NODE_ENV?.trim().toLowerCase() === 'production') {
    return { mode: 'production', inferredFrom: 'NODE_ENV=production' };
  }
  const signals: string[] = PRODUCTION_SIGNAL_KEYS.filter((k) => isSet(env[k]));
  const redisUrl = env.REDIS_URL;
  if (isSet(redisUrl) && !isLoopbackUrl(redisUrl)) signals.push('REDIS_URL (not loopback)');
  for (const key of ['REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const) {
    const list = env[key];
    if (isSet(list) && !list.split(',').every((node) => isLoopbackHostPort(node.trim()))) {
      signals.push(`${key} (not loopback)`);
    }
  }
  if (signals.length > 0) {
    return { mode: 'production', inferredFrom: `Setting ${signals.join(', ')}` };
  }
  return { mode: 'embedded', inferredFrom: undefined };
}

/**
 * The refusal of an environment variable that looks like a setting of ours but is none (a
 * misspelt `CLOUDAUTH_ENDPOINTS` would otherwise be ignored, and the process would run on the
 * emulator); undefined when there is none. Looks at the `CLOUDAUTH_` and `ORCHESTRATOR_` prefixes,
 * which only this project uses, and names the variables, never their values.
 */
export function unknownSettings(
  env: Record<string, string | undefined>,
  known: readonly string[],
): string | undefined {
  const unknown = Object.keys(env).filter(
    (k) => /^(CLOUDAUTH|ORCHESTRATOR)_/.test(k) && isSet(env[k]) && !known.includes(k),
  );
  if (unknown.length === 0) return undefined;
  const family = (k: string) => known.filter((n) => n.startsWith(k.slice(0, k.indexOf('_') + 1)));
  return `unknown setting${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}: refusing to start rather than ignore ${unknown.length === 1 ? 'it' : 'them'} (a misspelt CLOUDAUTH_ENDPOINT would run on the emulator). The settings with ${unknown.length === 1 ? 'its' : 'their'} prefix: ${[...new Set(unknown.flatMap(family))].join(', ')}`;
}

/**
 * The refusal of embedded mode pointed at Alibaba Cloud's own Cloudauth host (see
 * {@link ALIBABA_HOST}); undefined otherwise.
 */
export function embeddedWithRealEndpoint(config: Config): string | undefined {
  const { endpoint } = config.cloudauth;
  if (config.mode !== 'embedded' || endpoint === undefined) return undefined;
  if (!ALIBABA_HOST.test(new URL(endpoint).hostname.replace(/\.$/, ''))) return undefined;
  return 'ORCHESTRATOR_MODE=embedded with an Alibaba Cloud CLOUDAUTH_ENDPOINT: embedded mode is for the emulators (its verdicts are marked emulated and its secrets are generated); use ORCHESTRATOR_MODE=production for real verifications';
}

/**
 * The refusal for Cloudauth credentials set without `CLOUDAUTH_ENDPOINT` (any mode, any role but
 * `emulator`); undefined when there is none. Names the keys, never their values.
 */
export function credentialsWithoutEndpoint(config: Config): string | undefined {
  const { endpoint, accessKeyId, accessKeySecret, securityToken } = config.cloudauth;
  if (endpoint !== undefined) return undefined;
  const values = [accessKeyId, accessKeySecret, securityToken];
  const set = CLOUDAUTH_CREDENTIAL_KEYS.filter((_, i) => values[i] !== undefined);
  if (set.length === 0) return undefined;
  const names = set.join(', ');
  return `${names} ${set.length === 1 ? 'is' : 'are'} set but CLOUDAUTH_ENDPOINT is not: refusing to start, since without an endpoint the orchestrator would call the Cloudauth emulator with its demo key and ignore ${set.length === 1 ? 'it' : 'them'}. Set CLOUDAUTH_ENDPOINT to your Cloudauth endpoint (https://…), or unset ${names} to run on the emulators (ORCHESTRATOR_MODE=embedded)`;
}

/** The value of each production key as the configuration holds it (undefined: unset). */
function valueOf(config: Config, key: ProductionKey): unknown {
  switch (key) {
    case 'CLOUDAUTH_ENDPOINT':
      return config.cloudauth.endpoint;
    case 'CLOUDAUTH_ACCESS_KEY_ID':
      return config.cloudauth.accessKeyId;
    case 'CLOUDAUTH_ACCESS_KEY_SECRET':
      return config.cloudauth.accessKeySecret;
    case 'REDIS_URL':
      // any of the three topologies' settings will do
      return config.redisUrl ?? config.redis.sentinels ?? config.redis.clusterNodes;
    case 'ENCRYPTION_KEY':
      return config.store.encryptionKey;
    case 'WEBHOOK_SECRET':
      return config.webhooks.secret;
    case 'API_TOKENS':
      return config.api.tokens.length === 0 ? undefined : config.api.tokens;
  }
}

/** The role as messages name it. */
const ROLE_NAMES: Readonly<Record<ConfigRole, string>> = {
  all: '',
  api: ' for the api role',
  worker: ' for the worker role',
  cli: ' for the command line',
  emulator: ' for the emulator role',
};

/**
 * The refusal of a production configuration that lacks keys `role` requires; undefined when none
 * is missing. Says why the mode is production, and, when it was not asked for, how to ask for
 * embedded mode.
 */
export function missingInProduction(
  config: Config,
  role: ConfigRole,
  resolved: ResolvedMode,
): string | undefined {
  const missing = PRODUCTION_REQUIREMENTS[role].filter((k) => valueOf(config, k) === undefined);
  if (missing.length === 0) return undefined;
  const why = missing.includes('CLOUDAUTH_ENDPOINT')
    ? ' (production never runs on the Cloudauth emulator)'
    : '';
  const named = missing.map((k) =>
    k === 'REDIS_URL' ? 'REDIS_URL (or REDIS_SENTINELS, or REDIS_CLUSTER_NODES)' : k,
  );
  const needs = `requires ${named.join(', ')}${ROLE_NAMES[role]}${why}`;
  if (resolved.inferredFrom === undefined) return `ORCHESTRATOR_MODE=production ${needs}`;
  return `${selected(resolved.inferredFrom)}; it ${needs}. Set ${missing.length === 1 ? 'it' : 'them'}, ${ASK_FOR_EMBEDDED}`;
}

/**
 * The refusal of weak or plain-http production settings (`problems`, from config-checks.ts), with
 * how the mode was chosen when it was not asked for.
 */
export function weakInProduction(problems: readonly string[], resolved: ResolvedMode): string {
  const list = problems.join(' | ');
  if (resolved.inferredFrom === undefined) return `ORCHESTRATOR_MODE=production refuses: ${list}`;
  return `${selected(resolved.inferredFrom)}, which refuses: ${list}. Fix them, ${ASK_FOR_EMBEDDED}`;
}

const selected = (inferredFrom: string) =>
  `${inferredFrom} selects ORCHESTRATOR_MODE=production (ORCHESTRATOR_MODE is unset)`;

const ASK_FOR_EMBEDDED =
  'or ask for embedded mode explicitly with ORCHESTRATOR_MODE=embedded (local defaults and the Cloudauth emulator; its verdicts are marked emulated)';
