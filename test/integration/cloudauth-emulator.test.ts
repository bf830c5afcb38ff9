import RPCClient from '@alicloud/pop-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CloudauthEmulator } from '../../src/emulator/cloudauth/index.js';
import {
  TEST_KEY_ID,
  commonParams,
  popClient,
  popTimestamp,
  sendSigned,
  startTestEmulator,
} from '../support/emulator.js';

interface PopFailure {
  code: string;
  data: Record<string, unknown>;
  entry: { response: { statusCode: number } };
}

async function popFailure(p: Promise<unknown>): Promise<PopFailure> {
  try {
    await p;
  } catch (err) {
    return err as PopFailure;
  }
  throw new Error('expected the call to fail');
}

const POST = { method: 'POST' } as const;
const VALID_ID = '11010519491231002X';
const PNG = `base64://${Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]).toString('base64')}`;

let now = Date.now();
let emu: CloudauthEmulator;
let client: RPCClient;

beforeAll(async () => {
  emu = await startTestEmulator({ clock: () => now, tokenSeconds: 60 });
  client = popClient(emu.url);
});
afterAll(async () => {
  await emu.close();
});
beforeEach(() => {
  now = Date.now();
  emu.setFaults({});
});

describe('the POP gateway', () => {
  it.each([
    [
      'an unknown AccessKeyId',
      { AccessKeyId: 'LTAInobody' },
      {},
      'InvalidAccessKeyId.NotFound',
      400,
    ],
    ['a wrong signature', {}, { secret: 'not-the-secret' }, 'SignatureDoesNotMatch', 400],
    [
      'a Timestamp 16 minutes old',
      { Timestamp: popTimestamp(Date.now() - 16 * 60_000) },
      {},
      'InvalidTimeStamp.Expired',
      400,
    ],
    [
      'a Timestamp 16 minutes ahead',
      { Timestamp: popTimestamp(Date.now() + 16 * 60_000) },
      {},
      'InvalidTimeStamp.Expired',
      400,
    ],
    ['an unparseable Timestamp', { Timestamp: 'yesterday' }, {}, 'IllegalTimestamp', 400],
    ['a wrong Version', { Version: '2019-03-07' }, {}, 'InvalidVersion', 400],
    ['an unknown Action', { Action: 'DescribeEverything' }, {}, 'InvalidAction.NotFound', 404],
    [
      'SignatureMethod HMAC-SHA256',
      { SignatureMethod: 'HMAC-SHA256' },
      {},
      'InvalidParameter',
      400,
    ],
  ] as const)(
    'refuses %s with its code and status',
    async (_what, override, opts, code, status) => {
      const res = await sendSigned(
        emu.url,
        'GET',
        commonParams('GetStatus', { Biz: 'RPBasic', TicketId: 'x', ...override }),
        opts,
      );
      expect(res.status).toBe(status);
      expect(res.json()).toMatchObject({ Code: code, HostId: 'cloudauth.aliyuncs.com' });
      expect(res.json().RequestId).toMatch(/^[0-9A-F-]{36}$/);
    },
  );

  it.each(['Action', 'Version', 'AccessKeyId', 'SignatureNonce', 'SignatureMethod'])(
    'answers MissingParameter naming a missing %s',
    async (name) => {
      const params = commonParams('GetStatus', { Biz: 'RPBasic', TicketId: 'x' });
      delete params[name];
      const res = await sendSigned(emu.url, 'GET', params);
      expect(res.status).toBe(400);
      expect(res.json()).toMatchObject({ Code: 'MissingParameter' });
      expect(res.json().Message).toContain(`"${name}"`);
    },
  );

  it('answers IncompleteSignature without a Signature and IllegalTimestamp without a Timestamp', async () => {
    const unsigned = await sendSigned(emu.url, 'GET', commonParams('GetStatus'), { sign: false });
    expect([unsigned.status, unsigned.json().Code]).toEqual([400, 'IncompleteSignature']);
    const params = commonParams('GetStatus');
    delete params.Timestamp;
    const noTime = await sendSigned(emu.url, 'GET', params);
    expect([noTime.status, noTime.json().Code]).toEqual([400, 'IllegalTimestamp']);
  });

  it('refuses a reused SignatureNonce, and a changed parameter after signing', async () => {
    const params = commonParams('GetStatus', { Biz: 'RPBasic', TicketId: 'nonce' });
    expect((await sendSigned(emu.url, 'GET', params)).status).toBe(200);
    const again = await sendSigned(emu.url, 'GET', params);
    expect([again.status, again.json().Code]).toEqual([400, 'SignatureNonceUsed']);
    const tampered = await sendSigned(
      emu.url,
      'GET',
      commonParams('GetStatus', { Biz: 'RPBasic', TicketId: 'a' }),
      {
        tamper: (p) => (p.TicketId = 'b'),
      },
    );
    expect(tampered.json().Code).toBe('SignatureDoesNotMatch');
    expect(String(tampered.json().Message)).toContain('server string to sign is:GET&%2F&');
  });

  it('verifies POST with the common parameters in the query and the action parameters in the body', async () => {
    const common = commonParams('GetVerifyToken');
    const body = { Biz: 'RPBasic', TicketId: 'split-1', Binding: JSON.stringify({ Name: '李三' }) };
    const { signV1 } = await import('../../src/emulator/pop/signature-v1.js');
    const signature = signV1('test-secret-0123456789', 'POST', { ...common, ...body });
    const res = await fetch(
      `${emu.url}/?${new URLSearchParams({ ...common, Signature: signature }).toString()}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(body).toString(),
      },
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ Code: '1', Success: true });
  });

  it('answers a body over 8 MB with 413', async () => {
    const res = await sendSigned(
      emu.url,
      'POST',
      commonParams('GetVerifyToken', {
        Biz: 'RPBasic',
        TicketId: 'huge',
        Binding: JSON.stringify({ FacePic: `base64://${'A'.repeat(9 * 1024 * 1024)}` }),
      }),
    );
    expect(res.status).toBe(413);
    expect(res.json()).toMatchObject({ Code: 'InvalidParam.RequestTooLarge' });
  });
});

describe('the seed example', () => {
  const seed = {
    Biz: 'RPBasic',
    TicketId: '39ecf51e-2f81-4dc5-90ee-ff86125be683',
    UserData: '{"orderId": "1391012388"}',
    Binding: '{"Name": "李三"}',
  };

  it('answers the seed response shape in JSON through pop-core', async () => {
    const res = await client.request<Record<string, unknown>>('GetVerifyToken', seed, POST);
    expect(res).toMatchObject({
      RequestId: expect.any(String),
      Code: '1',
      Success: true,
      Data: {
        CloudauthPageUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/h5\/verify\?token=/),
        VerifyToken: { Token: expect.any(String), DurationSeconds: 60 },
        StsToken: {
          AccessKeyId: expect.stringMatching(/^STS\./),
          AccessKeySecret: expect.any(String),
          Expiration: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
          EndPoint: expect.any(String),
          BucketName: 'cloudauth-emulator',
          Path: expect.stringMatching(/\/$/),
          Token: expect.any(String),
        },
      },
    });
  });

  it('answers the same shape in XML', async () => {
    const res = await sendSigned(
      emu.url,
      'POST',
      commonParams('GetVerifyToken', { ...seed, Format: 'XML' }),
    );
    expect(res.status).toBe(200);
    expect(res.text).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?><GetVerifyTokenResponse><RequestId>[0-9A-F-]{36}<\/RequestId>/,
    );
    expect(res.text).toMatch(
      /<Data><CloudauthPageUrl>http:\/\/127\.0\.0\.1:\d+\/h5\/verify\?token=[0-9a-f]{32}<\/CloudauthPageUrl><VerifyToken><Token>[0-9a-f]{32}<\/Token><DurationSeconds>60<\/DurationSeconds><\/VerifyToken><StsToken><AccessKeyId>STS\./,
    );
    expect(res.text).toMatch(
      /<\/Data><Code>1<\/Code><Success>true<\/Success><\/GetVerifyTokenResponse>$/,
    );
  });

  it('answers errors in XML as <Error>', async () => {
    const res = await sendSigned(
      emu.url,
      'GET',
      commonParams('GetStatus', { Format: 'XML', Biz: 'nope', TicketId: 'x' }),
    );
    expect(res.status).toBe(400);
    expect(res.text).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?><Error><RequestId>[0-9A-F-]{36}<\/RequestId><HostId>cloudauth.aliyuncs.com<\/HostId><Code>InvalidParam.InvalidBiz<\/Code><Message>The biz is not valid.<\/Message><\/Error>$/,
    );
  });
});

describe('GetVerifyToken', () => {
  it.each([
    ['Biz missing', { TicketId: 't' }, 'InvalidParam.ParamMissing', 400],
    ['TicketId missing', { Biz: 'RPBasic' }, 'InvalidParam.ParamMissing', 400],
    ['an unknown Biz', { Biz: 'Nope', TicketId: 't' }, 'InvalidParam.InvalidBiz', 400],
    [
      'a Binding that is not JSON',
      { Biz: 'RPBasic', TicketId: 't', Binding: '{Name:' },
      'InvalidParam.JsonFormatError',
      400,
    ],
    [
      'a UserData that is not JSON',
      { Biz: 'RPBasic', TicketId: 't', UserData: 'order=1' },
      'InvalidParam.JsonFormatError',
      400,
    ],
    [
      'a local path as an image',
      { Biz: 'RPBasic', TicketId: 't', Binding: '{"FacePic":"/home/a/face.jpg"}' },
      'InvalidParam.ImageValuePatternError',
      400,
    ],
    [
      'a data: header in base64',
      {
        Biz: 'RPBasic',
        TicketId: 't',
        Binding: '{"FacePic":"base64://data:image/png;base64,iVBORw0KGgo="}',
      },
      'InvalidParam.ImageValuePatternError',
      400,
    ],
    [
      'a malformed oss reference',
      { Biz: 'RPBasic', TicketId: 't', Binding: '{"FacePic":"oss://Bad_Bucket/face.jpg"}' },
      'InvalidParam.ImageValuePatternError',
      400,
    ],
    [
      'an image over 2 MB',
      {
        Biz: 'RPBasic',
        TicketId: 't',
        Binding: JSON.stringify({ FacePic: `base64://${'A'.repeat(2_800_000)}` }),
      },
      'InvalidParam.ImageTooLarge',
      400,
    ],
    [
      'RPBioOnly without an IdentificationNumber',
      { Biz: 'RPBioOnly', TicketId: 't', Binding: '{"Name":"李三"}' },
      'InvalidParam.ParamMissing',
      400,
    ],
  ])('refuses %s', async (_what, params, code, status) => {
    const err = await popFailure(client.request('GetVerifyToken', params, POST));
    expect(err.code).toBe(code);
    expect(err.entry.response.statusCode).toBe(status);
    expect(err.data.RequestId).toEqual(expect.any(String));
  });

  it('names the missing parameter', async () => {
    const err = await popFailure(client.request('GetVerifyToken', { Biz: 'RPBasic' }, POST));
    expect(err.data.Message).toContain('TicketId');
  });

  it('accepts http(s), oss and base64 (POST) image values, and refuses base64 over GET', async () => {
    const binding = JSON.stringify({
      Name: '李三',
      IdentificationNumber: VALID_ID,
      FacePic: PNG,
      IdCardFrontPic: 'oss://verify-img:715559d76a40774OSS.JPG',
      IdCardBackPic: 'https://example.invalid/back.jpg',
    });
    await expect(
      client.request(
        'GetVerifyToken',
        { Biz: 'RPBioOnly', TicketId: 'imgs', Binding: binding },
        POST,
      ),
    ).resolves.toMatchObject({ Code: '1' });
    const err = await popFailure(
      client.request('GetVerifyToken', { Biz: 'RPBioOnly', TicketId: 'imgs', Binding: binding }),
    );
    expect(err.code).toBe('InvalidParam.ImageValuePatternError');
    expect(err.data.Message).toContain('POST');
  });

  it('issues a new token on every call for the same TicketId', async () => {
    const a = await client.request<{
      Data: { VerifyToken: { Token: string }; StsToken: { Path: string } };
    }>('GetVerifyToken', { Biz: 'RPBasic', TicketId: 'twice' }, POST);
    const b = await client.request<{
      Data: { VerifyToken: { Token: string }; StsToken: { Path: string } };
    }>('GetVerifyToken', { Biz: 'RPBasic', TicketId: 'twice' }, POST);
    expect(a.Data.VerifyToken.Token).not.toBe(b.Data.VerifyToken.Token);
    expect(a.Data.StsToken.Path).not.toBe(b.Data.StsToken.Path);
    expect(emu.registry.ticket('RPBasic', 'twice')?.tokensIssued).toBe(2);
  });
});

async function tokenFor(
  ticketId: string,
  binding: Record<string, string> = {},
  biz = 'RPBasic',
): Promise<string> {
  const r = await client.request<{ Data: { VerifyToken: { Token: string } } }>(
    'GetVerifyToken',
    { Biz: biz, TicketId: ticketId, Binding: JSON.stringify(binding) },
    POST,
  );
  return r.Data.VerifyToken.Token;
}

function submit(token: string, materials: Record<string, string>) {
  return client.request<{ Data: { VerifyStatus: Record<string, unknown> } }>(
    'SubmitMaterials',
    {
      VerifyToken: token,
      Material: Object.entries(materials).map(([MaterialType, Value]) => ({ MaterialType, Value })),
    },
    POST,
  );
}

function status(ticketId: string, biz = 'RPBasic') {
  return client.request<{ Data: Record<string, unknown> }>('GetStatus', {
    Biz: biz,
    TicketId: ticketId,
  });
}

describe('SubmitMaterials, GetStatus and GetMaterials', () => {
  it('answers -1 before any submission, then a passed verdict with scores and materials', async () => {
    expect((await status('flow-1')).Data).toEqual({ StatusCode: -1 });
    const token = await tokenFor('flow-1', { Name: '李三' });
    expect((await status('flow-1')).Data).toEqual({ StatusCode: -1 });
    const sub = await submit(token, { IdentificationNumber: VALID_ID, FacePic: PNG });
    expect(sub.Data.VerifyStatus).toMatchObject({
      StatusCode: 1,
      SimilarityScore: expect.any(Number),
      TrustedScore: expect.any(Number),
    });
    const st = (await status('flow-1')).Data;
    expect(st).toMatchObject({ StatusCode: 1, AuthorityComparisonScore: expect.any(Number) });
    expect(st.SimilarityScore).toBeGreaterThanOrEqual(85);
    const m = await client.request<{ Data: Record<string, string> }>('GetMaterials', {
      Biz: 'RPBasic',
      TicketId: 'flow-1',
    });
    expect(m.Data).toMatchObject({
      Name: '李三',
      IdentificationNumber: VALID_ID,
      IdCardType: 'identityCard',
      Sex: 'f',
    });
    const face = await fetch(m.Data.FacePic ?? '');
    expect(face.headers.get('content-type')).toBe('image/png');
  });

  it('gives StatusCode 2 for the seed ID number, whose check digit is wrong', async () => {
    const token = await tokenFor('seed-id');
    const sub = await submit(token, { Name: '王五', IdentificationNumber: '630546198009090099' });
    expect(sub.Data.VerifyStatus).toMatchObject({
      StatusCode: 2,
      AuditConclusions: expect.stringContaining('checksum'),
    });
  });

  it('gives StatusCode 2 for a name on the reject list, and lets the ticket try again until it passes', async () => {
    const token = await tokenFor('retry-1');
    expect(
      (await submit(token, { Name: '拒绝', IdentificationNumber: VALID_ID })).Data.VerifyStatus
        .StatusCode,
    ).toBe(2);
    expect((await status('retry-1')).Data.StatusCode).toBe(2);
    const second = await tokenFor('retry-1');
    expect(
      (await submit(second, { Name: '李三', IdentificationNumber: VALID_ID })).Data.VerifyStatus
        .StatusCode,
    ).toBe(1);
    expect(
      (await submit(second, { Name: '拒绝', IdentificationNumber: VALID_ID })).Data.VerifyStatus
        .StatusCode,
    ).toBe(1);
    expect(emu.registry.ticket('RPBasic', 'retry-1')?.submissions).toHaveLength(2);
  });

  it('keeps a review-list name at StatusCode 0 for the review time, then passes it', async () => {
    const token = await tokenFor('review-1');
    expect(
      (await submit(token, { Name: '审核', IdentificationNumber: VALID_ID })).Data.VerifyStatus
        .StatusCode,
    ).toBe(0);
    expect((await status('review-1')).Data.StatusCode).toBe(0);
    now += 1001;
    expect((await status('review-1')).Data.StatusCode).toBe(1);
  });

  it('refuses an unknown token, an expired token, an unknown MaterialType and an empty material list', async () => {
    expect((await popFailure(submit('0'.repeat(32), { Name: 'a' }))).code).toBe(
      'InvalidParam.VerifyTokenInvalid',
    );
    const token = await tokenFor('expiring');
    now += 61_000;
    expect((await popFailure(submit(token, { Name: 'a' }))).code).toBe(
      'InvalidParam.VerifyTokenExpired',
    );
    now = Date.now();
    const live = await tokenFor('types');
    expect((await popFailure(submit(live, { Passport: 'x' }))).code).toBe(
      'InvalidParam.MaterialTypeInvalid',
    );
    expect(
      (await popFailure(client.request('SubmitMaterials', { VerifyToken: live }, POST))).code,
    ).toBe('InvalidParam.ParamMissing');
  });

  it('serves SubmitVerification for RPMin only', async () => {
    const materials = [
      { MaterialType: 'Name', Value: '李三' },
      { MaterialType: 'IdentificationNumber', Value: VALID_ID },
      { MaterialType: 'FacePic', Value: PNG },
    ];
    const ok = await client.request<{ Data: { VerifyStatus: Record<string, unknown> } }>(
      'SubmitVerification',
      { Biz: 'RPMin', TicketId: 'min-1', Material: materials },
      POST,
    );
    expect(ok.Data.VerifyStatus).toMatchObject({
      StatusCode: 1,
      AuthorityComparisonScore: expect.any(Number),
    });
    const denied = await popFailure(
      client.request(
        'SubmitVerification',
        { Biz: 'RPBasic', TicketId: 'min-2', Material: materials },
        POST,
      ),
    );
    expect([denied.code, denied.entry.response.statusCode]).toEqual([
      'Error.NoPermissionAccess',
      403,
    ]);
  });
});

describe('the H5 page', () => {
  it('shows the masked person and records "complete" as the verdict rules say', async () => {
    const r = await client.request<{
      Data: { CloudauthPageUrl: string; VerifyToken: { Token: string } };
    }>(
      'GetVerifyToken',
      {
        Biz: 'RPH5BioOnly',
        TicketId: 'h5-1',
        Binding: JSON.stringify({ Name: '李三', IdentificationNumber: VALID_ID }),
      },
      POST,
    );
    const html = await (await fetch(r.Data.CloudauthPageUrl)).text();
    expect(html).toContain('李*');
    expect(html).toContain('1101**********002X');
    expect(html).not.toContain(VALID_ID);
    const done = await fetch(`${emu.url}/h5/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token: r.Data.VerifyToken.Token,
        outcome: 'complete',
      }).toString(),
    });
    expect(await done.text()).toContain('data-status="1"');
    expect((await status('h5-1', 'RPH5BioOnly')).Data.StatusCode).toBe(1);
  });

  it('records "fail" as not passed, and refuses an expired token', async () => {
    const token = await tokenFor('h5-2');
    const fail = await fetch(`${emu.url}/h5/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${token}&outcome=fail`,
    });
    expect(await fail.text()).toContain('data-status="2"');
    expect((await status('h5-2')).Data).toMatchObject({
      StatusCode: 2,
      AuditConclusions: expect.any(String),
    });
    now += 61_000;
    expect((await fetch(`${emu.url}/h5/verify?token=${token}`)).status).toBe(410);
  });
});

describe('fault injection and counters', () => {
  it('injects InternalError and Throttling.User per action, and counts outcomes', async () => {
    emu.resetCounters();
    emu.setFaults({ GetStatus: { internalErrorRate: 1 } });
    const internal = await popFailure(status('faults'));
    expect([internal.code, internal.entry.response.statusCode]).toEqual([
      'Error.InternalError',
      500,
    ]);
    emu.setFaults({ '*': { throttleRate: 1 } });
    const throttled = await popFailure(status('faults'));
    expect([throttled.code, throttled.entry.response.statusCode]).toEqual(['Throttling.User', 400]);
    emu.setFaults({});
    await status('faults');
    expect(emu.counters().GetStatus).toEqual({
      'Error.InternalError': 1,
      'Throttling.User': 1,
      ok: 1,
    });
  });

  it('answers Throttling above the QPS ceiling', async () => {
    emu.setFaults({ GetStatus: { qps: 3 } });
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => status('qps')));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(
      results.filter((r) => r.status === 'rejected').map((r) => (r.reason as PopFailure).code),
    ).toEqual(['Throttling', 'Throttling', 'Throttling']);
  });

  it('adds latency and hangs past the client timeout', async () => {
    emu.setFaults({ GetStatus: { latencyMs: 150 } });
    const started = performance.now();
    await status('slow');
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    emu.setFaults({ GetStatus: { hangRate: 1, hangMs: 2000 } });
    const impatient = new RPCClient({
      endpoint: emu.url,
      apiVersion: '2018-09-16',
      accessKeyId: TEST_KEY_ID,
      accessKeySecret: 'test-secret-0123456789',
      codes: ['1'],
    });
    const err = await popFailure(
      impatient.request('GetStatus', { Biz: 'RPBasic', TicketId: 'hang' }, { timeout: 200 }),
    );
    expect((err as unknown as Error).name).toBe('RequestTimeoutError');
  });

  it('sets faults and reads counters over the admin endpoint, refusing a bad config', async () => {
    const put = await fetch(`${emu.url}/__admin/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ GetStatus: { internalErrorRate: 1 } }),
    });
    expect(put.status).toBe(200);
    expect((await popFailure(status('admin'))).code).toBe('Error.InternalError');
    const bad = await fetch(`${emu.url}/__admin/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ GetStatus: { internalErrorRate: 2 } }),
    });
    expect(bad.status).toBe(400);
    const counters = (await (await fetch(`${emu.url}/__admin/counters`)).json()) as Record<
      string,
      Record<string, number>
    >;
    expect(counters.GetStatus?.['Error.InternalError']).toBeGreaterThanOrEqual(1);
    const record = await fetch(`${emu.url}/__admin/tickets/RPBasic/flow-1`);
    expect(await record.json()).toMatchObject({
      ticketId: 'flow-1',
      submissions: [{ statusCode: 1, via: 'SubmitMaterials' }],
    });
  });

  it('keeps each ticket its answer times, a SubmitMaterials counted to its token holder', async () => {
    const answerTimes = async () =>
      (await (await fetch(`${emu.url}/__admin/answer-times`)).json()) as Record<
        string,
        Record<string, number>
      >;
    await fetch(`${emu.url}/__admin/counters`, { method: 'DELETE' });
    emu.setFaults({ '*': { latencyMs: 40 } });
    const token = await tokenFor('timed', { Name: '李三' });
    await submit(token, { IdentificationNumber: VALID_ID, FacePic: PNG });
    await status('timed');
    await status('neighbour', 'RPBioOnly');
    const times = await answerTimes();
    // three calls of 40 ms each, arrival to answer (less a timer's 1 ms of slack against
    // performance.now); the neighbour's one call is its own
    expect(times.RPBasic?.timed).toBeGreaterThanOrEqual(3 * 39);
    expect(times.RPBioOnly?.['neighbour']).toBeGreaterThanOrEqual(39);
    expect(times.RPBioOnly?.['neighbour']).toBeLessThan(times.RPBasic?.timed ?? 0);
    await fetch(`${emu.url}/__admin/counters`, { method: 'DELETE' });
    expect(await answerTimes()).toEqual({});
  });

  it('keeps no answer time of an unsigned call, and a Biz named __proto__ stays a key', async () => {
    const answerTimes = async () =>
      (await (await fetch(`${emu.url}/__admin/answer-times`)).json()) as Record<string, unknown>;
    await fetch(`${emu.url}/__admin/counters`, { method: 'DELETE' });
    await fetch(`${emu.url}/?Action=GetStatus&Biz=RPBasic&TicketId=anonymous`);
    expect(await answerTimes()).toEqual({});
    await status('polluter', '__proto__');
    const times = await answerTimes();
    expect(Object.keys(times)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluter).toBeUndefined();
  });
});
