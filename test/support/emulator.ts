/** Test helpers: an in-process Cloudauth emulator and a hand-signed POP request. */
import { randomUUID } from 'node:crypto';
import RPCClient from '@alicloud/pop-core';
import {
  startCloudauthEmulator,
  type CloudauthEmulator,
  type CloudauthEmulatorOptions,
} from '../../src/emulator/cloudauth/index.js';
import { signV1 } from '../../src/emulator/pop/signature-v1.js';

export const TEST_KEY_ID = 'LTAItestOrchestrator';
export const TEST_KEY_SECRET = 'test-secret-0123456789';

export function startTestEmulator(
  overrides: Partial<CloudauthEmulatorOptions> = {},
): Promise<CloudauthEmulator> {
  return startCloudauthEmulator({
    port: 0,
    accessKeys: { [TEST_KEY_ID]: TEST_KEY_SECRET },
    biz: { RPBasic: 'RPBasic', RPBioOnly: 'RPBioOnly', RPH5BioOnly: 'RPH5BioOnly', RPMin: 'RPMin' },
    rejectNames: ['拒绝'],
    reviewNames: ['审核'],
    reviewMs: 1000,
    ...overrides,
  });
}

/** The real pop-core client as the orchestrator configures it for legacy Cloudauth. */
export function popClient(url: string, keyId = TEST_KEY_ID, secret = TEST_KEY_SECRET): RPCClient {
  return new RPCClient({
    endpoint: url,
    apiVersion: '2018-09-16',
    accessKeyId: keyId,
    accessKeySecret: secret,
    codes: ['1'],
    opts: { timeout: 5000 },
  });
}

/** ISO 8601 UTC without milliseconds, as POP wants it. */
export function popTimestamp(ms = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The common parameters of a V1-signed call (without Signature). */
export function commonParams(
  action: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    Action: action,
    Version: '2018-09-16',
    Format: 'JSON',
    AccessKeyId: TEST_KEY_ID,
    SignatureMethod: 'HMAC-SHA1',
    SignatureVersion: '1.0',
    SignatureNonce: randomUUID(),
    Timestamp: popTimestamp(),
    RegionId: 'cn-hangzhou',
    ...extra,
  };
}

/**
 * Sends a request signed by hand: GET with everything in the query, or POST with everything in
 * the form body. `tamper` edits the params after signing.
 */
export async function sendSigned(
  url: string,
  method: 'GET' | 'POST',
  params: Record<string, string>,
  options: { secret?: string; tamper?: (p: Record<string, string>) => void; sign?: boolean } = {},
): Promise<{ status: number; text: string; json: () => Record<string, unknown> }> {
  const signed = { ...params };
  if (options.sign !== false)
    signed.Signature = signV1(options.secret ?? TEST_KEY_SECRET, method, params);
  options.tamper?.(signed);
  const body = new URLSearchParams(signed).toString();
  const res =
    method === 'GET'
      ? await fetch(`${url}/?${body}`)
      : await fetch(`${url}/`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body,
        });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
}
