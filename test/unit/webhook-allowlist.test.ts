import { describe, expect, it } from 'vitest';
import { OrchestratorError, ValidationError } from '../../src/errors.js';
import { checkCallbackUrl, refusedAddressReason } from '../../src/intake/webhooks/allowlist.js';

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

const PRIVATE = [
  ['0.0.0.0/8', '0.1.2.3'],
  ['10.0.0.0/8', '10.20.30.40'],
  ['100.64.0.0/10', '100.64.0.1'],
  ['100.64.0.0/10 (top)', '100.127.255.254'],
  ['127.0.0.0/8', '127.0.0.1'],
  ['127.0.0.0/8 (not .1)', '127.8.9.10'],
  ['169.254.0.0/16', '169.254.169.254'],
  ['172.16.0.0/12', '172.16.0.1'],
  ['172.16.0.0/12 (top)', '172.31.255.255'],
  ['192.168.0.0/16', '192.168.1.1'],
  ['::1', '::1'],
  ['::', '::'],
  ['fc00::/7 (fc)', 'fc00::1'],
  ['fc00::/7 (fd)', 'fd12:3456:789a::1'],
  ['fe80::/10', 'fe80::1'],
  ['fe80::/10 (top)', 'febf::1'],
  ['IPv4-mapped loopback', '::ffff:127.0.0.1'],
  ['IPv4-mapped private, hex form', '::ffff:a00:1'],
  ['IPv4-mapped metadata address', '::ffff:169.254.169.254'],
  ['NAT64 of a private address', '64:ff9b::10.0.0.1'],
  ['6to4 of a private address', '2002:c0a8:101::1'],
  ['multicast', '224.0.0.1'],
  ['broadcast', '255.255.255.255'],
] as const;

const PUBLIC = [
  '8.8.8.8',
  '1.1.1.1',
  '100.63.255.255',
  '100.128.0.1',
  '172.15.255.255',
  '172.32.0.1',
  '169.253.1.1',
  '192.169.0.1',
  '11.0.0.1',
  '2001:4860:4860::8888',
  '2606:4700:4700::1111',
  '::ffff:8.8.8.8',
  '64:ff9b::8.8.8.8',
] as const;

describe('callback URL policy', () => {
  it.each(PRIVATE)('refuses a host resolving into %s (%s)', async (_range, address) => {
    const err = await refusal('https://hooks.example.com/cb', [], {
      'hooks.example.com': [address],
    });
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('callbackUrl');
    expect(refusedAddressReason(address)).toBeDefined();
  });

  it.each(PRIVATE)('refuses %s as an IP literal (%s)', async (_range, address) => {
    const host = address.includes(':') ? `[${address}]` : address;
    expect(await refusal(`http://${host}:8080/cb`)).toBeInstanceOf(ValidationError);
  });

  it.each(PUBLIC)('accepts a host resolving to the public address %s', async (address) => {
    expect(refusedAddressReason(address)).toBeUndefined();
    expect(
      await refusal('https://hooks.example.com/cb', [], { 'hooks.example.com': [address] }),
    ).toBeUndefined();
  });

  it('refuses a host when any one of its addresses is private', async () => {
    const err = await refusal('https://hooks.example.com/cb', [], {
      'hooks.example.com': ['8.8.8.8', '10.0.0.7'],
    });
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toContain('10.0.0.7');
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
