/**
 * The one place that reads configuration. Every key is an environment variable, declared once in
 * {@link CONFIG_KEYS} with its type, default and description; the README's configuration table is
 * made from the same declarations. `loadConfig(env)` is pure: pass `process.env` at the edge.
 */
import { z } from 'zod';
import { ConfigError } from './errors.js';

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
    z.enum(['embedded', 'production']),
    'embedded',
    '`embedded` runs on local defaults (the emulator where no Cloudauth endpoint is set); `production` refuses to start without a real endpoint, credentials and `REDIS_URL`.',
  ),
  LOG_LEVEL: key(
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    'info',
    'pino log level. Secrets and personal data are redacted at every level.',
  ),
  REDIS_URL: key(
    z.string().url().optional(),
    undefined,
    'Redis connection URL. Unset: `redis://127.0.0.1:6379`.',
  ),
  CLOUDAUTH_ENDPOINT: key(
    z.string().url().optional(),
    undefined,
    'Cloudauth POP endpoint, e.g. `https://cloudauth.aliyuncs.com`. Unset in embedded mode: the built-in emulator.',
  ),
  CLOUDAUTH_ACCESS_KEY_ID: key(
    z.string().min(1).optional(),
    undefined,
    'AccessKeyId for Cloudauth. Unset in embedded mode: the emulator demo key.',
  ),
  CLOUDAUTH_ACCESS_KEY_SECRET: key(
    z.string().min(1).optional(),
    undefined,
    'AccessKeySecret for Cloudauth. Never logged.',
    true,
  ),
  CLOUDAUTH_SECURITY_TOKEN: key(
    z.string().min(1).optional(),
    undefined,
    'STS SecurityToken when the Cloudauth credentials are temporary. Never logged.',
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
  CLOUDAUTH_BIZ: key(
    bizMap,
    'RPBasic=RPBasic,RPBioOnly=RPBioOnly,RPH5BioOnly=RPH5BioOnly,RPMin=RPMin',
    'Registered Biz scenarios and the scheme each is bound to, as `Biz=Scheme` pairs (the console creates these in production; the emulator registers the same list).',
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
  mode: 'embedded' | 'production';
  logLevel: Raw['LOG_LEVEL'];
  redisUrl: string | undefined;
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

/**
 * Validates `env` against {@link CONFIG_KEYS}. Throws one {@link ConfigError} naming every bad key.
 * Unknown variables are ignored.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const raw: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(CONFIG_KEYS) as [string, KeySpec<z.ZodType>][]) {
    const given = env[name];
    const value = given === undefined || given === '' ? spec.default : given;
    const parsed = spec.schema.safeParse(value);
    if (parsed.success) raw[name] = parsed.data;
    else {
      const shown = spec.secret ? '(secret)' : JSON.stringify(value);
      problems.push(`${name}=${shown}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join(' | ')}`);
  const r = raw as Raw;

  const config: Config = {
    mode: r.ORCHESTRATOR_MODE,
    logLevel: r.LOG_LEVEL,
    redisUrl: r.REDIS_URL,
    cloudauth: {
      endpoint: r.CLOUDAUTH_ENDPOINT,
      accessKeyId: r.CLOUDAUTH_ACCESS_KEY_ID,
      accessKeySecret: r.CLOUDAUTH_ACCESS_KEY_SECRET,
      securityToken: r.CLOUDAUTH_SECURITY_TOKEN,
      timeoutMs: r.CLOUDAUTH_TIMEOUT_MS,
      biz: r.CLOUDAUTH_BIZ,
    },
    oss: { timeoutMs: r.OSS_TIMEOUT_MS },
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

  if (config.mode === 'production') {
    const missing = (
      [
        ['CLOUDAUTH_ENDPOINT', config.cloudauth.endpoint],
        ['CLOUDAUTH_ACCESS_KEY_ID', config.cloudauth.accessKeyId],
        ['CLOUDAUTH_ACCESS_KEY_SECRET', config.cloudauth.accessKeySecret],
        ['REDIS_URL', config.redisUrl],
      ] as const
    )
      .filter(([, v]) => v === undefined)
      .map(([k]) => k);
    if (missing.length > 0) {
      throw new ConfigError(`ORCHESTRATOR_MODE=production requires ${missing.join(', ')}`);
    }
  }
  if (config.cloudauth.endpoint !== undefined) {
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
