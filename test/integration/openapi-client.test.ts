/**
 * Today's SDKs against the emulator: @alicloud/openapi-client with signature V3
 * (ACS3-HMAC-SHA256, its default) and with signature 1.0 (`signatureAlgorithm: 'v2'`: common
 * parameters in the query, Binding in the form body).
 */
import OpenApiModule, * as $OpenApi from '@alicloud/openapi-client';
import * as $Util from '@alicloud/tea-util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudauthEmulator } from '../../src/emulator/cloudauth/index.js';
import { TEST_KEY_ID, TEST_KEY_SECRET, startTestEmulator } from '../support/emulator.js';

type OpenApiClient = typeof OpenApiModule.default;
const loaded: unknown = OpenApiModule;
/** Node's ESM loader gives module.exports as the default import; vitest unwraps it to `.default`. */
const OpenApi = (typeof loaded === 'function' ? loaded : OpenApiModule.default) as OpenApiClient;

let emu: CloudauthEmulator;
beforeAll(async () => {
  emu = await startTestEmulator();
});
afterAll(async () => {
  await emu.close();
});

function makeClient(signature: 'v3' | 'v1', secret = TEST_KEY_SECRET) {
  return new OpenApi(
    new $OpenApi.Config({
      accessKeyId: TEST_KEY_ID,
      accessKeySecret: secret,
      endpoint: emu.url.replace('http://', ''),
      protocol: 'http',
      regionId: 'cn-hangzhou',
      readTimeout: 5000,
      connectTimeout: 5000,
      ...(signature === 'v1' ? { signatureAlgorithm: 'v2' } : {}),
    }),
  );
}

async function call(
  client: InstanceType<OpenApiClient>,
  action: string,
  query: Record<string, string>,
  body?: Record<string, unknown>,
) {
  const params = new $OpenApi.Params({
    action,
    version: '2018-09-16',
    protocol: 'HTTP',
    pathname: '/',
    method: 'POST',
    authType: 'AK',
    style: 'RPC',
    reqBodyType: 'formData',
    bodyType: 'json',
  });
  const request = new $OpenApi.OpenApiRequest({ query, ...(body ? { body } : {}) });
  const res = await client.callApi(params, request, new $Util.RuntimeOptions({}));
  return res.body as Record<string, unknown>;
}

describe.each(['v3', 'v1'] as const)('@alicloud/openapi-client with signature %s', (signature) => {
  it('gets a token with Biz and TicketId in the query and Binding in the form body', async () => {
    const body = await call(
      makeClient(signature),
      'GetVerifyToken',
      { Biz: 'RPBasic', TicketId: `openapi-${signature}` },
      { Binding: JSON.stringify({ Name: '李三' }) },
    );
    expect(body).toMatchObject({
      Code: '1',
      Success: true,
      Data: { VerifyToken: { Token: expect.any(String), DurationSeconds: 1800 } },
    });
  });

  it('submits materials flattened as Material.N and reads the status', async () => {
    const client = makeClient(signature);
    const token = await call(client, 'GetVerifyToken', {
      Biz: 'RPBasic',
      TicketId: `openapi-flow-${signature}`,
    });
    const { Token } = (token.Data as { VerifyToken: { Token: string } }).VerifyToken;
    const submitted = await call(
      client,
      'SubmitMaterials',
      {},
      {
        VerifyToken: Token,
        Material: [
          { MaterialType: 'Name', Value: '李三' },
          { MaterialType: 'IdentificationNumber', Value: '11010519491231002X' },
        ],
      },
    );
    expect(submitted).toMatchObject({ Data: { VerifyStatus: { StatusCode: 1 } } });
    const status = await call(client, 'GetStatus', {
      Biz: 'RPBasic',
      TicketId: `openapi-flow-${signature}`,
    });
    expect(status).toMatchObject({ Data: { StatusCode: 1 } });
  });

  it('is refused with SignatureDoesNotMatch when the secret is wrong', async () => {
    await expect(
      call(makeClient(signature, 'wrong-secret'), 'GetStatus', { Biz: 'RPBasic', TicketId: 'x' }),
    ).rejects.toMatchObject({ code: 'SignatureDoesNotMatch', statusCode: 400 });
  });
});
