/**
 * The addresses a webhook may reach: public unicast only.
 *
 * - IPv4: every special-purpose range of the IANA registry that is not globally reachable is
 *   refused ({@link REFUSED_IPV4_RANGES}).
 * - IPv6: only global unicast (`2000::/3`) is accepted, minus its special-purpose ranges
 *   ({@link REFUSED_IPV6_RANGES}). IPv4 embedded in IPv6 is decoded and judged as IPv4:
 *   IPv4-mapped `::ffff:0:0/96`, NAT64 `64:ff9b::/96` and 6to4 `2002::/16`. The local-use NAT64
 *   prefix `64:ff9b:1::/48` is refused whole: where its IPv4 sits depends on the operator's prefix
 *   length (RFC 6052), and it only ever leads into the operator's own network.
 *
 * Membership is tested with `node:net` `BlockList`; the only bit work here is the decoding.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** A refused range: its CIDR and what it is. The first match names the refusal. */
export type RefusedRange = readonly [cidr: string, what: string];

/** IPv4 ranges refused as webhook destinations. */
export const REFUSED_IPV4_RANGES: readonly RefusedRange[] = [
  ['0.0.0.0/8', '"this network"'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'shared address space (CGNAT)'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'IETF protocol assignments'],
  ['192.0.2.0/24', 'documentation (TEST-NET-1)'],
  ['192.88.99.0/24', 'deprecated 6to4 relay anycast'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation (TEST-NET-2)'],
  ['203.0.113.0/24', 'documentation (TEST-NET-3)'],
  ['224.0.0.0/4', 'multicast'],
  ['255.255.255.255/32', 'limited broadcast'],
  ['240.0.0.0/4', 'reserved'],
];

/** IPv6 ranges refused once embedded IPv4 has been decoded. */
export const REFUSED_IPV6_RANGES: readonly RefusedRange[] = [
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['64:ff9b:1::/48', 'local-use NAT64'],
  ['100::/64', 'discard-only'],
  ['2001::/32', 'Teredo'],
  ['2001::/23', 'IETF protocol assignments'],
  ['2001:db8::/32', 'documentation'],
  ['3fff::/20', 'documentation'],
  ['fc00::/7', 'unique-local'],
  ['fe80::/10', 'link-local'],
  ['ff00::/8', 'multicast'],
  ['::/3', 'not global unicast (outside 2000::/3)'],
  ['4000::/2', 'not global unicast (outside 2000::/3)'],
  ['8000::/1', 'not global unicast (outside 2000::/3)'],
];

interface Matcher {
  list: BlockList;
  cidr: string;
  what: string;
}

function matchers(ranges: readonly RefusedRange[], family: 'ipv4' | 'ipv6'): Matcher[] {
  return ranges.map(([cidr, what]) => {
    const [network = '', bits = ''] = cidr.split('/');
    const list = new BlockList();
    list.addSubnet(network, Number(bits), family);
    return { list, cidr, what };
  });
}

const V4 = matchers(REFUSED_IPV4_RANGES, 'ipv4');
const V6 = matchers(REFUSED_IPV6_RANGES, 'ipv6');

/** The eight 16-bit words of an IPv6 address (zone removed), or undefined if it does not parse. */
function ipv6Words(address: string): number[] | undefined {
  let text = address;
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

/** The IPv4 address carried by an IPv4-mapped, NAT64 (64:ff9b::/96) or 6to4 address. */
export function embeddedIpv4(address: string): string | undefined {
  const words = ipv6Words(address.split('%')[0] ?? '');
  if (words === undefined) return undefined;
  const at = (i: number) => words[i] ?? 0;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  const zero = (from: number, to: number) => words.slice(from, to).every((w) => w === 0);
  if (zero(0, 5) && at(5) === 0xffff) return v4(at(6), at(7));
  if (at(0) === 0x64 && at(1) === 0xff9b && zero(2, 6)) return v4(at(6), at(7));
  if (at(0) === 0x2002) return v4(at(1), at(2));
  return undefined;
}

function firstMatch(matchers: readonly Matcher[], address: string, family: 'ipv4' | 'ipv6') {
  const hit = matchers.find((m) => m.list.check(address, family));
  return hit === undefined ? undefined : `in ${hit.cidr} (${hit.what})`;
}

/**
 * Why `address` is refused as a webhook destination (e.g. `in 127.0.0.0/8 (loopback)`), or
 * undefined for a public unicast address. What does not parse as an IP address is refused.
 */
export function refusedAddressReason(address: string): string | undefined {
  if (isIPv4(address)) return firstMatch(V4, address, 'ipv4');
  const bare = address.split('%')[0] ?? '';
  if (!isIPv6(bare) || ipv6Words(bare) === undefined) return 'not an IP address';
  const v4 = embeddedIpv4(bare);
  if (v4 !== undefined) {
    const reason = refusedAddressReason(v4);
    return reason === undefined ? undefined : `which embeds ${v4}, ${reason}`;
  }
  return firstMatch(V6, bare, 'ipv6');
}
