import { randomBytes } from 'node:crypto';
import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConfigError, OrchestratorError, ValidationError } from '../../src/errors.js';
import { refusedAddressReason } from '../../src/webhooks/address-ranges.js';
import {
  callbackPolicyOf,
  checkCallbackUrl,
  resolveCallbackHost,
  vetCallbackUrl,
} from '../../src/webhooks/allowlist.js';
import { vettingLookup } from '../../src/webhooks/delivery-agent.js';

/** A lookup that knows a few names and records the ones it was asked. */
function fakeDns(records: Record<string, string[]>) {
  const asked: string[] = [];
  const lookup = (host: string) => {
    asked.push(host);
    const found = records[host];
    if (found === undefined) {
      return Promise.reject(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }));
    }
    return Promise.resolve(found);
  };
  return { lookup, asked };
}

async function refusal(
  url: string,
  allowed: readonly string[] = [],
  records: Record<string, string[]> = {},
): Promise<unknown> {
  try {
    await checkCallbackUrl(url, allowed, fakeDns(records).lookup);
  } catch (err) {
    return err;
  }
  return undefined;
}

/**
 * Each range at both edges, and its neighbours: the address, and the range that refuses it
 * (null: a public address, accepted).
 */
const EDGES: readonly (readonly [range: string, address: string, refusedBy: string | null])[] = [
  ['0.0.0.0/8', '0.0.0.0', '0.0.0.0/8'],
  ['0.0.0.0/8', '0.255.255.255', '0.0.0.0/8'],
  ['0.0.0.0/8', '1.0.0.0', null],
  ['10.0.0.0/8', '9.255.255.255', null],
  ['10.0.0.0/8', '10.0.0.0', '10.0.0.0/8'],
  ['10.0.0.0/8', '10.255.255.255', '10.0.0.0/8'],
  ['10.0.0.0/8', '11.0.0.0', null],
  ['100.64.0.0/10', '100.63.255.255', null],
  ['100.64.0.0/10', '100.64.0.0', '100.64.0.0/10'],
  ['100.64.0.0/10', '100.127.255.255', '100.64.0.0/10'],
  ['100.64.0.0/10', '100.128.0.0', null],
  ['127.0.0.0/8', '126.255.255.255', null],
  ['127.0.0.0/8', '127.0.0.0', '127.0.0.0/8'],
  ['127.0.0.0/8', '127.255.255.255', '127.0.0.0/8'],
  ['127.0.0.0/8', '128.0.0.0', null],
  ['169.254.0.0/16', '169.253.255.255', null],
  ['169.254.0.0/16', '169.254.0.0', '169.254.0.0/16'],
  ['169.254.0.0/16', '169.254.255.255', '169.254.0.0/16'],
  ['169.254.0.0/16', '169.255.0.0', null],
  ['172.16.0.0/12', '172.15.255.255', null],
  ['172.16.0.0/12', '172.16.0.0', '172.16.0.0/12'],
  ['172.16.0.0/12', '172.31.255.255', '172.16.0.0/12'],
  ['172.16.0.0/12', '172.32.0.0', null],
  ['192.0.0.0/24', '191.255.255.255', null],
  ['192.0.0.0/24', '192.0.0.0', '192.0.0.0/24'],
  ['192.0.0.0/24', '192.0.0.255', '192.0.0.0/24'],
  ['192.0.0.0/24', '192.0.1.0', null],
  ['192.0.2.0/24', '192.0.1.255', null],
  ['192.0.2.0/24', '192.0.2.0', '192.0.2.0/24'],
  ['192.0.2.0/24', '192.0.2.255', '192.0.2.0/24'],
  ['192.0.2.0/24', '192.0.3.0', null],
  ['192.88.99.0/24', '192.88.98.255', null],
  ['192.88.99.0/24', '192.88.99.0', '192.88.99.0/24'],
  ['192.88.99.0/24', '192.88.99.255', '192.88.99.0/24'],
  ['192.88.99.0/24', '192.88.100.0', null],
  ['192.168.0.0/16', '192.167.255.255', null],
  ['192.168.0.0/16', '192.168.0.0', '192.168.0.0/16'],
  ['192.168.0.0/16', '192.168.255.255', '192.168.0.0/16'],
  ['192.168.0.0/16', '192.169.0.0', null],
  ['198.18.0.0/15', '198.17.255.255', null],
  ['198.18.0.0/15', '198.18.0.0', '198.18.0.0/15'],
  ['198.18.0.0/15', '198.19.255.255', '198.18.0.0/15'],
  ['198.18.0.0/15', '198.20.0.0', null],
  ['198.51.100.0/24', '198.51.99.255', null],
  ['198.51.100.0/24', '198.51.100.0', '198.51.100.0/24'],
  ['198.51.100.0/24', '198.51.100.255', '198.51.100.0/24'],
  ['198.51.100.0/24', '198.51.101.0', null],
  ['203.0.113.0/24', '203.0.112.255', null],
  ['203.0.113.0/24', '203.0.113.0', '203.0.113.0/24'],
  ['203.0.113.0/24', '203.0.113.255', '203.0.113.0/24'],
  ['203.0.113.0/24', '203.0.114.0', null],
  ['224.0.0.0/4', '223.255.255.255', null],
  ['224.0.0.0/4', '224.0.0.0', '224.0.0.0/4'],
  ['224.0.0.0/4', '239.255.255.255', '224.0.0.0/4'],
  ['240.0.0.0/4', '240.0.0.0', '240.0.0.0/4'],
  ['240.0.0.0/4', '255.255.255.254', '240.0.0.0/4'],
  ['255.255.255.255/32', '255.255.255.255', '255.255.255.255/32'],
  ['::/128', '::', '::/128'],
  ['::1/128', '::1', '::1/128'],
  ['::1/128', '::2', '::/3'],
  ['::ffff:0:0/96 (IPv4-mapped)', '::ffff:0.0.0.0', '0.0.0.0/8'],
  ['::ffff:0:0/96 (IPv4-mapped)', '::ffff:127.0.0.1', '127.0.0.0/8'],
  ['::ffff:0:0/96 (IPv4-mapped)', '::ffff:a00:1', '10.0.0.0/8'],
  ['::ffff:0:0/96 (IPv4-mapped)', '::ffff:169.254.169.254', '169.254.0.0/16'],
  ['::ffff:0:0/96 (IPv4-mapped)', '::ffff:198.18.0.1', '198.18.0.0/15'],
  ['::ffff:0:0/96 (IPv4-mapped)', '::ffff:8.8.8.8', null],
  ['::ffff:0:0/96 (IPv4-mapped)', '::ffff:ffff:ffff', '255.255.255.255/32'],
  ['::ffff:0:0/96 (IPv4-mapped)', '::fffe:ffff:ffff', '::/3'],
  ['::ffff:0:0/96 (IPv4-mapped)', '::1:0:0:0', '::/3'],
  ['::ffff:0:0:0/96 (IPv4-translated)', '::ffff:0:808:808', '::/3'],
  ['64:ff9b::/96 (NAT64)', '64:ff9b::', '0.0.0.0/8'],
  ['64:ff9b::/96 (NAT64)', '64:ff9b::7f00:1', '127.0.0.0/8'],
  ['64:ff9b::/96 (NAT64)', '64:ff9b::10.0.0.1', '10.0.0.0/8'],
  ['64:ff9b::/96 (NAT64)', '64:ff9b::808:808', null],
  ['64:ff9b::/96 (NAT64)', '64:ff9b::ffff:ffff', '255.255.255.255/32'],
  ['64:ff9b::/96 (NAT64)', '64:ff9b::1:0:0', '::/3'],
  ['64:ff9b:1::/48 (local-use NAT64)', '64:ff9b:1::', '64:ff9b:1::/48'],
  ['64:ff9b:1::/48 (local-use NAT64)', '64:ff9b:1::7f00:1', '64:ff9b:1::/48'],
  ['64:ff9b:1::/48 (local-use NAT64)', '64:ff9b:1::808:808', '64:ff9b:1::/48'],
  ['64:ff9b:1::/48 (local-use NAT64)', '64:ff9b:1:ffff:ffff:ffff:ffff:ffff', '64:ff9b:1::/48'],
  ['100::/64', '100::', '100::/64'],
  ['100::/64', '100::ffff:ffff:ffff:ffff', '100::/64'],
  ['100::/64', '100:0:0:1::', '::/3'],
  ['2000::/3 (global unicast)', '1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '::/3'],
  ['2000::/3 (global unicast)', '2000::', null],
  ['2000::/3 (global unicast)', '3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', null],
  ['2000::/3 (global unicast)', '4000::', '4000::/2'],
  ['2000::/3 (global unicast)', '8000::', '8000::/1'],
  ['2001::/32 (Teredo)', '2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff', null],
  ['2001::/32 (Teredo)', '2001::', '2001::/32'],
  ['2001::/32 (Teredo)', '2001:0:4136:e378:8000:63bf:3fff:fdd2', '2001::/32'],
  ['2001::/32 (Teredo)', '2001:0:ffff:ffff:ffff:ffff:ffff:ffff', '2001::/32'],
  ['2001::/23 (IETF protocol assignments)', '2001:1::', '2001::/23'],
  ['2001::/23 (IETF protocol assignments)', '2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff', '2001::/23'],
  ['2001::/23 (IETF protocol assignments)', '2001:200::', null],
  ['2001:db8::/32', '2001:db7:ffff:ffff:ffff:ffff:ffff:ffff', null],
  ['2001:db8::/32', '2001:db8::', '2001:db8::/32'],
  ['2001:db8::/32', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', '2001:db8::/32'],
  ['2001:db8::/32', '2001:db9::', null],
  ['2002::/16 (6to4)', '2002::', '0.0.0.0/8'],
  ['2002::/16 (6to4)', '2002:7f00:1::1', '127.0.0.0/8'],
  ['2002::/16 (6to4)', '2002:c0a8:101::1', '192.168.0.0/16'],
  ['2002::/16 (6to4)', '2002:808:808::1', null],
  ['2002::/16 (6to4)', '2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '255.255.255.255/32'],
  ['2002::/16 (6to4)', '2003::', null],
  ['3fff::/20', '3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff', null],
  ['3fff::/20', '3fff::', '3fff::/20'],
  ['3fff::/20', '3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff', '3fff::/20'],
  ['3fff::/20', '3fff:1000::', null],
  ['fc00::/7', 'fc00::', 'fc00::/7'],
  ['fc00::/7', 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'fc00::/7'],
  ['fc00::/7', 'fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '8000::/1'],
  ['fe80::/10', 'fe80::', 'fe80::/10'],
  ['fe80::/10', 'febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'fe80::/10'],
  ['fe80::/10', 'fe80::1%eth0', 'fe80::/10'],
  ['ff00::/8', 'ff00::', 'ff00::/8'],
  ['ff00::/8', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ff00::/8'],
];

const REFUSED = EDGES.filter(([, , by]) => by !== null);
const PUBLIC = EDGES.filter(([, , by]) => by === null).map(([, address]) => address);

describe('address ranges', () => {
  it.each(EDGES)('%s: %s is refused by %s', (_range, address, refusedBy) => {
    const reason = refusedAddressReason(address);
    if (refusedBy === null) expect(reason).toBeUndefined();
    else expect(reason).toContain(`in ${refusedBy} (`);
  });

  it('names the embedded IPv4 address in the refusal', () => {
    expect(refusedAddressReason('64:ff9b::7f00:1')).toBe(
      'which embeds 127.0.0.1, in 127.0.0.0/8 (loopback)',
    );
  });

  it.each(['', 'localhost', '1.2.3', '::g', '1::2::3', '12345::1'])(
    'refuses %j, which is not an IP address',
    (address) => expect(refusedAddressReason(address)).toBe('not an IP address'),
  );
});

describe('callback URL policy', () => {
  it.each(REFUSED)('refuses a host resolving into %s (%s)', async (_range, address) => {
    const err = await refusal('https://hooks.example.com/cb', [], {
      'hooks.example.com': [address],
    });
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('callbackUrl');
  });

  it.each(REFUSED.filter(([, a]) => !a.includes('%')))(
    'refuses %s as an IP literal (%s)',
    async (_range, address) => {
      const host = address.includes(':') ? `[${address}]` : address;
      expect(await refusal(`http://${host}:8080/cb`)).toBeInstanceOf(ValidationError);
    },
  );

  it.each(PUBLIC)('accepts a host resolving to the public address %s', async (address) => {
    expect(
      await refusal('https://hooks.example.com/cb', [], { 'hooks.example.com': [address] }),
    ).toBeUndefined();
  });

  it('refuses a host when any one of its addresses is private', async () => {
    const err = await refusal('https://hooks.example.com/cb', [], {
      'hooks.example.com': ['8.8.8.8', '10.0.0.7'],
    });
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toContain('resolves to an address in 10.0.0.0/8 (private)');
    expect((err as Error).message).not.toContain('10.0.0.7');
  });

  it('reads the other spellings of IPv4 as the URL standard does', async () => {
    expect(await refusal('http://2130706433/cb')).toBeInstanceOf(ValidationError);
    expect(await refusal('http://0x7f.1/cb')).toBeInstanceOf(ValidationError);
  });

  it('accepts an allowed host by name or IP without looking it up', async () => {
    const dns = fakeDns({ 'receiver.internal': ['10.1.2.3'] });
    await expect(
      checkCallbackUrl('http://Receiver.Internal./cb', ['receiver.internal'], dns.lookup),
    ).resolves.toBeUndefined();
    await expect(
      checkCallbackUrl('http://127.0.0.1:9000/cb', [' 127.0.0.1 '], dns.lookup),
    ).resolves.toBeUndefined();
    await expect(
      checkCallbackUrl('http://[::1]:9000/cb', ['[0:0::1]'], dns.lookup),
    ).resolves.toBeUndefined();
    expect(dns.asked).toEqual([]);
  });

  it('accepts a name whose private addresses are each on the allow list', async () => {
    const records = { 'receiver.internal': ['10.1.2.3'] };
    expect(await refusal('http://receiver.internal/cb', ['10.1.2.3'], records)).toBeUndefined();
    expect(await refusal('http://receiver.internal/cb', ['10.1.2.4'], records)).toBeInstanceOf(
      ValidationError,
    );
  });

  it.each(['ftp://hooks.example.com/cb', 'file:///etc/passwd', 'javascript:alert(1)', 'ws://x.io'])(
    'refuses the scheme of %s',
    async (url) => {
      const err = await refusal(url, [], { 'hooks.example.com': ['8.8.8.8'], 'x.io': ['8.8.8.8'] });
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toMatch(/http or https/);
    },
  );

  it('refuses what is not an absolute URL', async () => {
    expect(await refusal('/relative/cb')).toBeInstanceOf(ValidationError);
    expect(await refusal('not a url')).toBeInstanceOf(ValidationError);
  });

  it.each(['https://user:pass@hooks.example.com/cb', 'https://user@hooks.example.com/cb'])(
    'refuses credentials in %s, without repeating them',
    async (url) => {
      const err = await refusal(url, ['hooks.example.com'], { 'hooks.example.com': ['8.8.8.8'] });
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toMatch(/credentials/);
      expect((err as Error).message).not.toContain('pass');
    },
  );

  it('names the host, never the path or query, in its refusals', async () => {
    const err = await refusal('http://10.0.0.1/cb?token=s3cr3t');
    expect((err as Error).message).toContain('10.0.0.1');
    expect((err as Error).message).not.toContain('s3cr3t');
  });

  it('answers a host that does not resolve with a retryable WEBHOOK_HOST_UNRESOLVED', async () => {
    const err = await refusal('https://nowhere.example.com/cb');
    expect(err).toBeInstanceOf(OrchestratorError);
    expect((err as OrchestratorError).code).toBe('WEBHOOK_HOST_UNRESOLVED');
    expect((err as OrchestratorError).retryable).toBe(true);
    const empty = await refusal('https://empty.example.com/cb', [], { 'empty.example.com': [] });
    expect((empty as OrchestratorError).code).toBe('WEBHOOK_HOST_UNRESOLVED');
  });
});

describe('plain http in production', () => {
  const production = { allowedHosts: ['receiver.internal', '10.9.8.7'], httpsOnly: true };

  it('refuses an http callback URL, naming the host and not the query', () => {
    let err: unknown;
    try {
      vetCallbackUrl('http://hooks.example.com/cb?key=s3cr3t', production);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('callbackUrl');
    expect((err as Error).message).toMatch(/must be https in production/);
    expect((err as Error).message).toContain('"hooks.example.com"');
    expect((err as Error).message).not.toContain('s3cr3t');
  });

  it('accepts https, and http to a host on the allow list (by name or IP)', async () => {
    const dns = fakeDns({ 'hooks.example.com': ['8.8.8.8'] });
    await expect(
      checkCallbackUrl('https://hooks.example.com/cb', production, dns.lookup),
    ).resolves.toBeUndefined();
    await expect(
      checkCallbackUrl('http://Receiver.Internal./cb', production, dns.lookup),
    ).resolves.toBeUndefined();
    await expect(
      checkCallbackUrl('http://10.9.8.7:8080/cb', production, dns.lookup),
    ).resolves.toBeUndefined();
  });

  it('requires the host name itself on the list, not only its address', async () => {
    const dns = fakeDns({ 'hooks.internal': ['10.9.8.7'] });
    await expect(
      checkCallbackUrl('http://hooks.internal/cb', production, dns.lookup),
    ).rejects.toThrow(/must be https/);
    await expect(
      checkCallbackUrl('https://hooks.internal/cb', production, dns.lookup),
    ).resolves.toBeUndefined();
  });

  it('accepts plain http outside production', () => {
    expect(vetCallbackUrl('http://hooks.example.com/cb', { allowedHosts: [] }).host).toBe(
      'hooks.example.com',
    );
  });

  it('is on in production mode only', () => {
    const webhooks = { allowedHosts: ['a.internal'] };
    expect(callbackPolicyOf({ mode: 'production', webhooks })).toEqual({
      allowedHosts: ['a.internal'],
      httpsOnly: true,
    });
    expect(callbackPolicyOf({ mode: 'embedded', webhooks }).httpsOnly).toBe(false);
  });

  it('refuses an http WEBHOOK_DEFAULT_URL at config load unless its host is allowed', () => {
    const env = {
      ORCHESTRATOR_MODE: 'production',
      CLOUDAUTH_ENDPOINT: 'https://cloudauth.example.test',
      CLOUDAUTH_ACCESS_KEY_ID: `LTAI${randomBytes(10).toString('hex')}`,
      CLOUDAUTH_ACCESS_KEY_SECRET: randomBytes(24).toString('base64url'),
      REDIS_URL: 'redis://127.0.0.1:6379',
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
      API_TOKENS: randomBytes(24).toString('hex'),
    };
    const plain = 'http://hooks.example.com/cb?key=s3cr3t';
    let err: unknown;
    try {
      loadConfig({ ...env, WEBHOOK_DEFAULT_URL: plain });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/WEBHOOK_DEFAULT_URL must be https in production/);
    expect((err as Error).message).not.toContain('s3cr3t');
    const allowed = {
      ...env,
      WEBHOOK_DEFAULT_URL: plain,
      WEBHOOK_ALLOWED_HOSTS: 'Hooks.Example.com.',
    };
    expect(loadConfig(allowed).webhooks.defaultUrl).toBe(plain);
    const secure = 'https://hooks.example.com/cb';
    expect(loadConfig({ ...env, WEBHOOK_DEFAULT_URL: secure }).webhooks.defaultUrl).toBe(secure);
    expect(loadConfig({ WEBHOOK_DEFAULT_URL: plain }).webhooks.defaultUrl).toBe(plain);
  });
});

/** Calls a socket lookup as `net.connect` does, with or without `all`. */
function socketLookup(
  lookup: ReturnType<typeof vettingLookup>,
  host: string,
  all: boolean,
): Promise<{ address: string | LookupAddress[]; family: number | undefined }> {
  return new Promise((resolve, reject) => {
    lookup(host, { all }, (err, address, family) => {
      if (err) reject(err);
      else resolve({ address, family });
    });
  });
}

describe('one resolution per connection', () => {
  it('hands the socket the vetted address, not what the resolver answers next', async () => {
    const answers = [['93.184.215.14'], ['127.0.0.1']];
    let asked = 0;
    const rebinding = (host: string) => {
      expect(host).toBe('hooks.example.com');
      return Promise.resolve(answers[Math.min(asked++, 1)] ?? []);
    };
    const lookup = vettingLookup({ allowedHosts: [] }, rebinding);
    expect(await socketLookup(lookup, 'hooks.example.com', true)).toEqual({
      address: [{ address: '93.184.215.14', family: 4 }],
      family: undefined,
    });
    expect(asked).toBe(1);
    await expect(socketLookup(lookup, 'hooks.example.com', false)).rejects.toThrow(
      /resolves to an address in 127\.0\.0\.0\/8 \(loopback\)/,
    );
    expect(asked).toBe(2);
  });

  it('answers the first address of an all-public answer, in the form asked', async () => {
    const dns = fakeDns({ 'hooks.example.com': ['2606:4700:4700::1111', '1.1.1.1'] });
    const lookup = vettingLookup({ allowedHosts: [] }, dns.lookup);
    expect(await socketLookup(lookup, 'hooks.example.com', false)).toEqual({
      address: '2606:4700:4700::1111',
      family: 6,
    });
    expect(dns.asked).toEqual(['hooks.example.com']);
  });

  it('refuses a whole answer when one of its addresses is refused', async () => {
    const dns = fakeDns({ 'mixed.example.com': ['8.8.8.8', '1.1.1.1', '169.254.169.254'] });
    const lookup = vettingLookup({ allowedHosts: [] }, dns.lookup);
    const err = await socketLookup(lookup, 'mixed.example.com', true).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toContain(
      'resolves to an address in 169.254.0.0/16 (link-local)',
    );
    await expect(
      resolveCallbackHost('mixed.example.com', ['169.254.169.254'], dns.lookup),
    ).resolves.toEqual({ address: '8.8.8.8', family: 4 });
  });

  it('passes on an unresolvable host as a retryable WEBHOOK_HOST_UNRESOLVED', async () => {
    const lookup = vettingLookup({ allowedHosts: [] }, fakeDns({}).lookup);
    const err = await socketLookup(lookup, 'nowhere.example.com', true).catch((e: unknown) => e);
    expect((err as OrchestratorError).code).toBe('WEBHOOK_HOST_UNRESOLVED');
    expect((err as OrchestratorError).retryable).toBe(true);
  });
});
