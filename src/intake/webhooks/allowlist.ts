/**
 * Callback URL policy, applied when a ticket is accepted and again before every delivery (DNS can
 * change in between): http(s) only, no credentials in the URL, and no host that resolves to a
 * loopback, private, link-local, shared (CGNAT), unspecified, multicast or reserved address,
 * unless the host (or the resolved address) is on the allow list. IPv4 addresses embedded in IPv6
 * (mapped, compatible, NAT64, 6to4) are judged as IPv4.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { OrchestratorError, ValidationError } from '../../errors.js';

/** Resolves a host name to every address it has. */
export type HostLookup = (host: string) => Promise<string[]>;

const REFUSED_V4: readonly [string, number][] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];
const REFUSED_V6: readonly [string, number][] = [
  ['::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
];

const refusedV4 = new BlockList();
for (const [net, bits] of REFUSED_V4) refusedV4.addSubnet(net, bits, 'ipv4');
const refusedV6 = new BlockList();
for (const [net, bits] of REFUSED_V6) refusedV6.addSubnet(net, bits, 'ipv6');

const defaultLookup: HostLookup = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);

function ipv6Words(address: string): number[] | undefined {
  let text = address.split('%')[0] ?? '';
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1] !== undefined) {
    if (!isIPv4(dotted[1])) return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = dotted[1].split('.').map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail, extra] = text.split('::');
  if (extra !== undefined) return undefined;
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((w) => parseInt(w, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const fill = tail === undefined ? 0 : 8 - left.length - right.length;
  const words = [...left, ...Array<number>(Math.max(fill, 0)).fill(0), ...right];
  return words.length === 8 && words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffff)
    ? words
    : undefined;
}

function embeddedV4(words: readonly number[]): string | undefined {
  const at = (i: number) => words[i] ?? 0;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  const zero = (from: number, to: number) => words.slice(from, to).every((w) => w === 0);
  if (zero(0, 5) && at(5) === 0xffff) return v4(at(6), at(7));
  if (at(0) === 0x64 && at(1) === 0xff9b && zero(2, 6)) return v4(at(6), at(7));
  if (at(0) === 0x2002) return v4(at(1), at(2));
  return undefined;
}

/**
 * Why `address` is refused as a webhook destination, or undefined for a public unicast address.
 * An unparseable address is refused.
 */
export function refusedAddressReason(address: string): string | undefined {
  if (isIPv4(address)) {
    return refusedV4.check(address, 'ipv4') ? 'a loopback, private or reserved address' : undefined;
  }
  if (!isIPv6(address)) return 'not an IP address';
  const words = ipv6Words(address);
  if (words === undefined) return 'not an IP address';
  const v4 = embeddedV4(words);
  if (v4 !== undefined) return refusedAddressReason(v4);
  return refusedV6.check(address, 'ipv6')
    ? 'a loopback, unique-local, link-local or reserved address'
    : undefined;
}

function canonicalHost(host: string): string {
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

/**
 * Refuses a callback URL that is not http(s), carries credentials, or whose host resolves to a
 * refused address (see the module comment) unless the host, or each resolved address, is in
 * `allowedHosts` (host names or IPs). Throws {@link ValidationError} on `callbackUrl` for those,
 * and a retryable `WEBHOOK_HOST_UNRESOLVED` when the host does not resolve. Messages name the
 * host, never the whole URL (its path or query may be a bearer secret).
 */
export async function checkCallbackUrl(
  url: string,
  allowedHosts: readonly string[],
  lookup: HostLookup = defaultLookup,
): Promise<void> {
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
  const allowed = new Set(allowedHosts.map(canonicalHost));
  if (allowed.has(host)) return;
  let addresses: string[];
  if (isIPv4(host) || isIPv6(host)) addresses = [host];
  else {
    try {
      addresses = await lookup(host);
    } catch (err) {
      throw new OrchestratorError('WEBHOOK_HOST_UNRESOLVED', `host "${host}" does not resolve`, {
        cause: err,
      });
    }
    if (addresses.length === 0) {
      throw new OrchestratorError('WEBHOOK_HOST_UNRESOLVED', `host "${host}" has no address`);
    }
  }
  for (const address of addresses) {
    if (allowed.has(canonicalHost(address))) continue;
    const reason = refusedAddressReason(address);
    if (reason !== undefined) {
      throw new ValidationError(
        'callbackUrl',
        `host "${host}" resolves to ${address}, ${reason}; add it to WEBHOOK_ALLOWED_HOSTS to allow it`,
      );
    }
  }
}
