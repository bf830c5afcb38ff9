/**
 * Callback URL policy, applied when a ticket is accepted and again by every delivery (DNS can
 * change in between): http(s) only, no credentials in the URL, in production https only (a plain
 * http callback would carry the `token_issued` page URL, a bearer link, in clear), and no host that
 * resolves to an address outside public unicast (see `address-ranges.ts`), unless the host (or the
 * resolved address) is on the allow list. A delivery resolves its host once, through
 * {@link resolveCallbackHost}, and connects to the address that was vetted (`delivery-agent.ts`).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIPv4, isIPv6 } from 'node:net';
import { OrchestratorError, ValidationError } from '../errors.js';
import { refusedAddressReason } from './address-ranges.js';

/** Resolves a host name to every address it has, in the resolver's order. */
export type HostLookup = (host: string) => Promise<string[]>;

/** What a callback URL may be. */
export interface CallbackPolicy {
  /**
   * Host names or IPs (`WEBHOOK_ALLOWED_HOSTS`) delivered to even when they resolve to loopback,
   * private or reserved addresses; with `httpsOnly`, also the hosts that may be called over http.
   */
  allowedHosts: readonly string[];
  /** Refuse `http:` URLs whose host is not in `allowedHosts` (production mode). Default false. */
  httpsOnly?: boolean;
}

/** The policy of a configuration: https only in production mode. */
export function callbackPolicyOf(config: {
  mode: 'embedded' | 'production';
  webhooks: { allowedHosts: readonly string[] };
}): CallbackPolicy {
  return {
    allowedHosts: config.webhooks.allowedHosts,
    httpsOnly: config.mode === 'production',
  };
}

/** The system resolver (`getaddrinfo`, so `/etc/hosts` counts), every address, verbatim order. */
export const systemLookup: HostLookup = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** A host as the allow list compares it: lower case, no trailing dot, IPv6 compressed. */
export function canonicalHost(host: string): string {
  const bare = host.trim().toLowerCase().replace(/\.$/, '');
  const unbracketed = bare.startsWith('[') && bare.endsWith(']') ? bare.slice(1, -1) : bare;
  if (isIPv6(unbracketed)) {
    try {
      return new URL(`http://[${unbracketed}]/`).hostname.slice(1, -1);
    } catch {
      return unbracketed;
    }
  }
  return unbracketed;
}

function normalize(policy: CallbackPolicy | readonly string[]): CallbackPolicy {
  return Array.isArray(policy)
    ? { allowedHosts: policy as readonly string[] }
    : (policy as CallbackPolicy);
}

function allowedSet(policy: CallbackPolicy): Set<string> {
  return new Set(policy.allowedHosts.map(canonicalHost));
}

/**
 * The refusal of a host whose address is refused. A name's address is not told, only its range:
 * the message reaches API callers, who could otherwise map internal DNS names to addresses.
 */
function refuseAddress(host: string, address: string, reason: string): ValidationError {
  const what = host === address ? 'is an address' : 'resolves to an address';
  return new ValidationError(
    'callbackUrl',
    `host "${host}" ${what} ${reason}; add it to WEBHOOK_ALLOWED_HOSTS to allow it`,
  );
}

/** A callback URL that passed the checks needing no DNS. */
export interface VettedCallbackUrl {
  /** The canonical host (an IPv6 literal without brackets). */
  host: string;
  /** The host is an IP literal (vetted already) or on the allow list: nothing to resolve. */
  settled: boolean;
}

/**
 * The checks that need no DNS: an absolute http(s) URL, no credentials, https in production
 * unless the host is allow-listed, and an IP-literal host vetted. Throws {@link ValidationError}
 * on `callbackUrl`; messages name the host, never the whole URL (its path or query may be a
 * secret).
 */
export function vetCallbackUrl(
  url: string,
  policy: CallbackPolicy | readonly string[],
): VettedCallbackUrl {
  const p = normalize(policy);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError('callbackUrl', 'is not an absolute URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ValidationError('callbackUrl', `must be http or https, not ${parsed.protocol}`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new ValidationError('callbackUrl', 'must not carry credentials');
  }
  const host = canonicalHost(parsed.hostname);
  if (host === '') throw new ValidationError('callbackUrl', 'has no host');
  const allowed = allowedSet(p);
  if (p.httpsOnly === true && parsed.protocol === 'http:' && !allowed.has(host)) {
    throw new ValidationError(
      'callbackUrl',
      `must be https in production: plain http would send the token_issued page URL, a bearer link, in clear (or add "${host}" to WEBHOOK_ALLOWED_HOSTS)`,
    );
  }
  if (allowed.has(host)) return { host, settled: true };
  if (isIPv4(host) || isIPv6(host)) {
    const reason = refusedAddressReason(host);
    if (reason !== undefined) throw refuseAddress(host, host, reason);
    return { host, settled: true };
  }
  return { host, settled: false };
}

/** The one address a delivery connects to. */
export interface VettedAddress {
  address: string;
  family: 4 | 6;
}

/**
 * Resolves `host` once and vets every address of the answer: one refused address refuses the
 * whole answer (a name that mixes public and internal addresses is misconfigured or hostile).
 * Returns the first address, the one to connect to. An allow-listed host, or an allow-listed
 * address, is not vetted. Throws {@link ValidationError} on `callbackUrl` for a refused address,
 * and a retryable `WEBHOOK_HOST_UNRESOLVED` when the host does not resolve.
 */
export async function resolveCallbackHost(
  host: string,
  policy: CallbackPolicy | readonly string[],
  lookup: HostLookup = systemLookup,
): Promise<VettedAddress> {
  const name = canonicalHost(host);
  const allowed = allowedSet(normalize(policy));
  let addresses: string[];
  if (isIPv4(name) || isIPv6(name)) addresses = [name];
  else {
    try {
      addresses = await lookup(name);
    } catch (err) {
      throw new OrchestratorError('WEBHOOK_HOST_UNRESOLVED', `host "${name}" does not resolve`, {
        cause: err,
      });
    }
  }
  const [first] = addresses;
  if (first === undefined) {
    throw new OrchestratorError('WEBHOOK_HOST_UNRESOLVED', `host "${name}" has no address`);
  }
  if (!allowed.has(name)) {
    for (const address of addresses) {
      if (allowed.has(canonicalHost(address))) continue;
      const reason = refusedAddressReason(address);
      if (reason !== undefined) throw refuseAddress(name, address, reason);
    }
  }
  return { address: first, family: isIPv6(first.split('%')[0] ?? '') ? 6 : 4 };
}

/**
 * The whole policy of a callback URL (see the module comment), as intake applies it. Throws
 * {@link ValidationError} on `callbackUrl`, or a retryable `WEBHOOK_HOST_UNRESOLVED`.
 */
export async function checkCallbackUrl(
  url: string,
  policy: CallbackPolicy | readonly string[],
  lookup: HostLookup = systemLookup,
): Promise<void> {
  const vetted = vetCallbackUrl(url, policy);
  if (!vetted.settled) await resolveCallbackHost(vetted.host, policy, lookup);
}
