/**
 * The checks production mode adds to the configuration's types ({@link productionProblems}), and
 * the warnings any mode logs at start ({@link configWarnings}). Pure; no I/O.
 *
 * Endpoints: `CLOUDAUTH_ENDPOINT` must be `https:` (each ticket sends names, ID numbers and the
 * signed request over it, and its answers carry STS credentials). `WEBHOOK_DEFAULT_URL` has its
 * own rule. A `redis://` URL to a host that is not loopback is a warning (use `rediss://`).
 *
 * Secrets are judged by simple, explainable rules with no dictionary: they refuse what is typed or
 * left as a placeholder (`aaaaaaaaaaaaaaaa`, an all-zero key, `changeme-changeme`, `abcdef…`);
 * a random value long enough for rule 1 fails rules 2 and 3 with odds below one in a billion. A
 * strong-looking value chosen by a person (`my-company-token-2024`) passes: generate secrets, do
 * not invent them.
 *
 * Webhook signing secrets: `WEBHOOK_SECRET` must be a Standard Webhooks `whsec_` secret; it, each
 * of `WEBHOOK_PREVIOUS_SECRETS` and each of `WEBHOOK_SECRETS_BY_HOST` are judged as text secrets
 * below, a `whsec_` one by its base64 (the prefix adds length, not randomness).
 *
 * Text secrets (each of `API_TOKENS`, the webhook secrets, `CLOUDAUTH_ACCESS_KEY_SECRET`) must
 * 1. carry an estimated {@link SECRET_MIN_BITS} bits or more: length × log2(the size of the
 *    character set it uses), the set being 16 for hex digits of one case, else the sum of the
 *    classes present (10 digits, 26 lower-case, 26 upper-case, 33 others). Random values of 128
 *    bits always pass: 32 hex digits (`openssl rand -hex 16`), 24 base64 characters
 *    (`openssl rand -base64 16`), 22 base64url ones. 16 random letters and digits pass when they
 *    mix both cases and digits (95 bits); 16 lower-case letters do not (75);
 * 2. not be a shorter piece repeated (`aaaa…`, `abab…`, `changeme-changeme-…`);
 * 3. have no stretch of half its length or more in which each character equals the previous one,
 *    or each is the next, or each the previous, in code order (`aaaa…`, `abcd…`, `9876…`);
 * 4. use at least {@link SECRET_MIN_DISTINCT} distinct characters, or half its length when that
 *    is fewer (`00000000111111112222…`, `aaaaaaaa-bbbbbbbb-…`, `abcabcabc…X`). Of a million
 *    random values of each format above, none had fewer (32 hex digits: 0 below 8).
 *
 * Keys (`ENCRYPTION_KEY`, 32 bytes) must have at least {@link KEY_MIN_DISTINCT_BYTES} distinct
 * byte values among their 32 (random keys have about 30; the fewest in a million was 22; an
 * all-zero key has one), no stretch of {@link KEY_MAX_RUN} bytes or more each equal to, one after
 * or one before the previous (0x00 0x01 0x02 …), and must not be all printable ASCII (a typed
 * passphrase, not random bytes: odds of 1 in 10^14 for a random key).
 */
import type { Config } from './config.js';
import { PRODUCTION_REQUIREMENTS, type ProductionKey } from './config-mode.js';
import {
  MAX_KEY_BYTES,
  MIN_KEY_BYTES,
  WEBHOOK_SECRET_PREFIX,
  isStandardSecret,
} from './webhooks/secret.js';

/** Estimated bits a text secret must carry in production (rule 1 above). */
export const SECRET_MIN_BITS = 90;

/** Distinct characters a text secret must use in production (rule 4), or half its length. */
export const SECRET_MIN_DISTINCT = 8;

/** Distinct byte values a 32-byte key must have in production. */
export const KEY_MIN_DISTINCT_BYTES = 20;

/** A key may not hold a sequence (equal, rising or falling by one) of this many bytes. */
export const KEY_MAX_RUN = 8;

/** length × log2(character set), as rule 1 of the module comment defines it. */
export function estimatedBits(value: string): number {
  const chars = [...value];
  if (chars.length === 0) return 0;
  if (/^[0-9a-f]+$/.test(value) || /^[0-9A-F]+$/.test(value)) return chars.length * 4;
  let set = 0;
  if (/[0-9]/.test(value)) set += 10;
  if (/[a-z]/.test(value)) set += 26;
  if (/[A-Z]/.test(value)) set += 26;
  if (/[^0-9a-zA-Z]/.test(value)) set += 33;
  return chars.length * Math.log2(set);
}

/** True when `value` is a shorter string repeated, the last copy possibly cut short. */
function isRepeated(chars: readonly string[]): boolean {
  const n = chars.length;
  for (let period = 1; period <= n / 2; period++) {
    let same = true;
    for (let i = period; i < n && same; i++) same = chars[i] === chars[i - period];
    if (same) return true;
  }
  return false;
}

/** The longest stretch of values each equal to, or one after, or one before the previous. */
function longestRun(codes: readonly number[]): number {
  let best = Math.min(codes.length, 1);
  let length = 1;
  let step = 0;
  for (let i = 1; i < codes.length; i++) {
    const d = (codes[i] ?? 0) - (codes[i - 1] ?? 0);
    if (Math.abs(d) > 1) length = 1;
    else if (length > 1 && d === step) length++;
    else {
      length = 2;
      step = d;
    }
    best = Math.max(best, length);
  }
  return best;
}

/**
 * Why a text secret is too weak for production, in words that never quote it; undefined when it
 * passes the rules of the module comment.
 */
export function weakSecretReason(value: string): string | undefined {
  const chars = [...value];
  const bits = estimatedBits(value);
  if (bits < SECRET_MIN_BITS) {
    return `about ${Math.floor(bits)} bits, at least ${SECRET_MIN_BITS} needed (use more random characters, e.g. \`openssl rand -base64 32\`)`;
  }
  if (isRepeated(chars)) return 'it is a shorter piece repeated';
  if (longestRun(chars.map((c) => c.codePointAt(0) ?? 0)) * 2 >= chars.length) {
    return 'half of it or more is one character repeated or a sequence (abcd…, 1234…)';
  }
  const distinct = new Set(chars).size;
  const needed = Math.min(SECRET_MIN_DISTINCT, Math.ceil(chars.length / 2));
  if (distinct < needed) {
    return `it uses ${distinct} distinct characters, at least ${needed} needed: not random`;
  }
  return undefined;
}

/** Why a 32-byte key is too weak for production (never quoting it); undefined when it passes. */
export function weakKeyReason(key: Uint8Array): string | undefined {
  const distinct = new Set(key).size;
  if (distinct < KEY_MIN_DISTINCT_BYTES) {
    return `its ${key.length} bytes have ${distinct} distinct value${distinct === 1 ? '' : 's'}, at least ${KEY_MIN_DISTINCT_BYTES} needed: not random bytes (use \`openssl rand -base64 32\`)`;
  }
  if (longestRun([...key]) >= KEY_MAX_RUN) {
    return `it holds a run of ${KEY_MAX_RUN} or more bytes in sequence (0x00 0x01 0x02 …): not random bytes (use \`openssl rand -base64 32\`)`;
  }
  if (key.every((b) => b >= 0x20 && b <= 0x7e)) {
    return 'its bytes are all printable text: a typed passphrase, not random bytes (use `openssl rand -base64 32`)';
  }
  return undefined;
}

/** True for `localhost` and the loopback addresses (127.0.0.0/8, ::1). */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
  return (
    h === 'localhost' ||
    h.endsWith('.localhost') ||
    h === '::1' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
  );
}

/**
 * The warning for a Redis URL that crosses a network in clear: `redis://` (not `rediss://`) to a
 * host that is not loopback. The ticket store encrypts personal data, but ticket ids, job payloads
 * and the connection's password travel as they are. Names the host only (a URL may hold a
 * password).
 */
export function plainRedisWarning(redisUrl: string | undefined): string | undefined {
  if (redisUrl === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(redisUrl);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'redis:' || isLoopbackHost(url.hostname)) return undefined;
  return `REDIS_URL reaches ${url.hostname} without TLS: use rediss:// (the password, ticket ids and job payloads cross the network in clear)`;
}

/**
 * What production mode refuses in a configuration that has every required key: a plain-http
 * Cloudauth endpoint, weak secrets and keys (see the module comment), and the emulator's key pair
 * as Cloudauth credentials. Only the keys in `needs` (a role's requirements; default all of them)
 * are judged: a process is not refused for a setting it does not use. One line per problem, naming
 * the key and never quoting its value.
 */
export function productionProblems(
  config: Config,
  needs: readonly ProductionKey[] = PRODUCTION_REQUIREMENTS.all,
): string[] {
  const problems: string[] = [];
  const needed = (k: ProductionKey) => needs.includes(k);
  const { endpoint } = config.cloudauth;
  const accessKeyId = needed('CLOUDAUTH_ACCESS_KEY_ID') ? config.cloudauth.accessKeyId : undefined;
  const accessKeySecret = needed('CLOUDAUTH_ACCESS_KEY_SECRET')
    ? config.cloudauth.accessKeySecret
    : undefined;
  if (
    needed('CLOUDAUTH_ENDPOINT') &&
    endpoint !== undefined &&
    new URL(endpoint).protocol !== 'https:'
  ) {
    problems.push(
      'CLOUDAUTH_ENDPOINT must be an https:// URL: names, ID numbers and STS credentials cross it',
    );
  }
  const browserFlow = Object.values(config.cloudauth.biz).some(
    (p) => typeof p !== 'string' && p.productCode === 'ID_PRO',
  );
  if (browserFlow && (needed('API_TOKENS') || needed('CLOUDAUTH_ENDPOINT'))) {
    const url = config.api.publicUrl;
    if (url === undefined) {
      problems.push(
        'API_PUBLIC_URL is required when CLOUDAUTH_BIZ has a financial:ID_PRO Biz: its start links and the provider callback are built on it',
      );
    } else if (new URL(url).protocol !== 'https:') {
      problems.push(
        'API_PUBLIC_URL must be an https:// URL: Cloudauth calls back over https only, and start links carry a ticket',
      );
    }
  }
  const script = config.api.faceScriptUrl;
  if (browserFlow && script !== undefined && new URL(script).protocol !== 'https:') {
    problems.push(
      "FACE_VERIFY_SCRIPT_URL must be an https:// URL: the start page runs it in the person's browser",
    );
  }
  const emulatorKeys = config.emulator.accessKeys;
  if (
    (accessKeyId !== undefined && Object.hasOwn(emulatorKeys, accessKeyId)) ||
    (accessKeySecret !== undefined && Object.values(emulatorKeys).includes(accessKeySecret))
  ) {
    problems.push(
      "CLOUDAUTH_ACCESS_KEY_ID / CLOUDAUTH_ACCESS_KEY_SECRET: that is the emulator's key pair (EMULATOR_ACCESS_KEYS), not a Cloudauth one",
    );
  }
  const tokens = needed('API_TOKENS') ? config.api.tokens : [];
  const webhookSecrets = needed('WEBHOOK_SECRET') ? webhookSecretsOf(config.webhooks) : [];
  for (const [name, value] of webhookSecrets) {
    if (name === 'WEBHOOK_SECRET' && !isStandardSecret(value)) {
      problems.push(
        `WEBHOOK_SECRET must be a Standard Webhooks secret: ${WEBHOOK_SECRET_PREFIX} followed by the base64 of ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} random bytes (\`echo "${WEBHOOK_SECRET_PREFIX}$(openssl rand -base64 32)"\`); move a text secret of an earlier version to WEBHOOK_PREVIOUS_SECRETS while receivers switch`,
      );
    }
  }
  const text: [string, string | undefined][] = [
    ['CLOUDAUTH_ACCESS_KEY_SECRET', accessKeySecret],
    // a whsec_ secret is judged by its base64: the prefix would add length but no randomness
    ...webhookSecrets.map(([name, value]): [string, string] => [
      name,
      isStandardSecret(value) ? value.slice(WEBHOOK_SECRET_PREFIX.length) : value,
    ]),
    ...tokens.map((t, i, all): [string, string] => [
      all.length === 1 ? 'API_TOKENS' : `API_TOKENS (token ${i + 1} of ${all.length})`,
      t,
    ]),
  ];
  for (const [name, value] of text) {
    const reason = value === undefined ? undefined : weakSecretReason(value);
    if (reason !== undefined) problems.push(`${name} is too weak: ${reason}`);
  }
  const key = needed('ENCRYPTION_KEY') ? config.store.encryptionKey : undefined;
  const keyReason = key === undefined ? undefined : weakKeyReason(Buffer.from(key, 'base64'));
  if (keyReason !== undefined) problems.push(`ENCRYPTION_KEY is too weak: ${keyReason}`);
  return problems;
}

/**
 * Every webhook signing secret of the configuration with the name a problem gives it: the secret,
 * each previous one (`WEBHOOK_PREVIOUS_SECRETS (secret 2 of 3)`), each host's
 * (`WEBHOOK_SECRETS_BY_HOST ("hooks.a.example")`; host names are not secret).
 */
function webhookSecretsOf(webhooks: Config['webhooks']): [string, string][] {
  const out: [string, string][] = [];
  if (webhooks.secret !== undefined) out.push(['WEBHOOK_SECRET', webhooks.secret]);
  const previous = webhooks.previousSecrets;
  previous.forEach((secret, i) => {
    const which = previous.length === 1 ? '' : ` (secret ${i + 1} of ${previous.length})`;
    out.push([`WEBHOOK_PREVIOUS_SECRETS${which}`, secret]);
  });
  for (const [host, secrets] of Object.entries(webhooks.secretsByHost)) {
    secrets.forEach((secret, i) => {
      const which = secrets.length === 1 ? '' : `, secret ${i + 1} of ${secrets.length}`;
      out.push([`WEBHOOK_SECRETS_BY_HOST ("${host}"${which})`, secret]);
    });
  }
  return out;
}

/**
 * The warning for Sentinel or Cluster nodes reached without TLS (`REDIS_TLS=false`) on a host that
 * is not loopback; names the setting and the first such host.
 */
export function plainRedisNodesWarning(config: Pick<Config, 'redis'>): string | undefined {
  if (config.redis.tls) return undefined;
  for (const key of ['sentinels', 'clusterNodes'] as const) {
    const remote = config.redis[key]?.find((n) => !isLoopbackHost(n.host));
    if (remote !== undefined) {
      const name = key === 'sentinels' ? 'REDIS_SENTINELS' : 'REDIS_CLUSTER_NODES';
      return `${name} reaches ${remote.host} without TLS: set REDIS_TLS=true (the password, ticket ids and job payloads cross the network in clear)`;
    }
  }
  return undefined;
}

/** What a process logs at warn once at start about its configuration (any mode). */
export function configWarnings(config: Config): string[] {
  return [plainRedisWarning(config.redisUrl), plainRedisNodesWarning(config)].filter(
    (w) => w !== undefined,
  );
}
