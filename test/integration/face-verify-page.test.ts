/**
 * The page behind InitFaceVerify's CertifyUrl and the callback it triggers, end to end on loopback:
 * the official SDK @alicloud/cloudauth20190307 (unmodified) issues the CertifyId, the test plays
 * the browser with fetch (redirects not followed, to read them) and a node:http server plays the
 * CallbackUrl receiver.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as $Cloudauth from '@alicloud/cloudauth20190307';
import { SdkClientClass } from '../../src/adapters/cloudauth/sdk-2019.js';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CloudauthEmulator } from '../../src/emulator/cloudauth/index.js';
import { expectNothingWithin, waitUntil } from '../../testkit/waiting.js';
import { TEST_KEY_ID, TEST_KEY_SECRET, startTestEmulator } from '../support/emulator.js';

const Cloudauth = SdkClientClass;

const SCENE = 1000000006;
const PASSING = { certName: '张三', certNo: '11010519491231002X' };
const REJECTED = { certName: '拒绝', certNo: '11010519491231002X' };
const META_INFO = JSON.stringify({ zimVer: '3.0.0', appVersion: '1', bioMetaInfo: '4.1.0:1,0' });
const RETURN_URL = 'https://shop.example/back?order=7';
const RETRY_DELAY_MS = 20;

/** The CallbackUrl receiver: records each request's path and query, answers scripted statuses. */
class Receiver {
  readonly requests: URL[] = [];
  /** Statuses for the next requests, in order; 200 once exhausted. */
  script: number[] = [];
  private server: Server | undefined;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.requests.push(new URL(req.url ?? '/', 'http://receiver'));
      const status = this.script.shift() ?? 200;
      if (status >= 300 && status < 400) res.setHeader('location', '/elsewhere');
      res.writeHead(status).end(status === 200 ? 'success' : 'no');
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}${path}`;
  }

  /** Requests whose query names `certifyId`. */
  for(certifyId: string): URL[] {
    return this.requests.filter((u) => u.searchParams.get('certifyId') === certifyId);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

let skewMs = 0;
let emu: CloudauthEmulator;
const receiver = new Receiver();

beforeAll(async () => {
  await receiver.start();
  emu = await startTestEmulator({
    clock: () => Date.now() + skewMs,
    sceneIds: [String(SCENE)],
    faceVerifyCallback: { retryDelayMs: RETRY_DELAY_MS, timeoutMs: 2000 },
  });
});
afterAll(async () => {
  await emu.close();
  await receiver.close();
});
beforeEach(() => {
  skewMs = 0;
  receiver.script = [];
});

function client(): InstanceType<typeof Cloudauth> {
  return new Cloudauth(
    new $OpenApiUtil.Config({
      accessKeyId: TEST_KEY_ID,
      accessKeySecret: TEST_KEY_SECRET,
      endpoint: emu.url.replace('http://', ''),
      protocol: 'http',
      readTimeout: 5000,
      connectTimeout: 5000,
    }),
  );
}

async function init(
  person: { certName: string; certNo: string },
  extra: Partial<$Cloudauth.InitFaceVerifyRequest> = {},
): Promise<{ certifyId: string; certifyUrl: string }> {
  const res = await client().initFaceVerify(
    new $Cloudauth.InitFaceVerifyRequest({
      sceneId: SCENE,
      outerOrderNo: randomBytes(12).toString('hex'),
      productCode: 'ID_PRO',
      certType: 'IDENTITY_CARD',
      ...person,
      metaInfo: META_INFO,
      returnUrl: RETURN_URL,
      model: 'MOVE_ACTION',
      ...extra,
    }),
  );
  expect(res.body?.code).toBe('200');
  const certifyId = res.body?.resultObject?.certifyId ?? '';
  const certifyUrl = res.body?.resultObject?.certifyUrl ?? '';
  return { certifyId, certifyUrl };
}

async function describeFace(certifyId: string) {
  const res = await client().describeFaceVerify(
    new $Cloudauth.DescribeFaceVerifyRequest({ sceneId: SCENE, certifyId }),
  );
  return res.body;
}

function post(certifyUrl: string, outcome: string): Promise<Response> {
  return fetch(certifyUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ outcome }).toString(),
    redirect: 'manual',
  });
}

/** The `response` JSON the emulator appends to ReturnUrl. */
function returnedResponse(res: Response): Record<string, string> {
  const location = new URL(res.headers.get('location') ?? '');
  expect(`${location.origin}${location.pathname}`).toBe('https://shop.example/back');
  expect(location.searchParams.get('order')).toBe('7');
  return JSON.parse(location.searchParams.get('response') ?? '') as Record<string, string>;
}

function deliveries(certifyId: string) {
  return emu.faceVerifyCallbacks().filter((d) => d.certifyId === certifyId);
}

describe('the CertifyUrl page', () => {
  it('serves a self-contained page with a CSP, masking the identity', async () => {
    const { certifyUrl } = await init(PASSING);
    expect(certifyUrl.startsWith(`${emu.url}/face-verify/`)).toBe(true);
    const res = await fetch(certifyUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("form-action 'self' https://shop.example");
    expect(csp).toMatch(/style-src 'sha256-[A-Za-z0-9+/=]+'/);
    const html = await res.text();
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\bsrc=|\bhref=/i);
    expect(html).toContain('data-testid="complete"');
    expect(html).not.toContain(PASSING.certNo);
    expect(html).not.toContain(PASSING.certName);
  });

  it('on complete: callback with certifyId, passed=SubCode and callbackToken; redirect; Describe passes with scores', async () => {
    const { certifyId, certifyUrl } = await init(PASSING, {
      callbackUrl: receiver.url('/cb?shop=1'),
      callbackToken: 'anti-replay-42',
    });
    const res = await post(certifyUrl, 'complete');
    expect(res.status).toBe(303);
    expect(returnedResponse(res)).toEqual({ certifyId, passed: 'T', subCode: '200' });

    await waitUntil('the callback', () => receiver.for(certifyId).length === 1);
    const [call] = receiver.for(certifyId);
    expect(call?.pathname).toBe('/cb');
    expect(Object.fromEntries(call?.searchParams ?? [])).toEqual({
      shop: '1',
      certifyId,
      passed: '200',
      callbackToken: 'anti-replay-42',
    });
    await waitUntil('the delivery record', () => deliveries(certifyId).length === 1);
    expect(deliveries(certifyId)[0]).toMatchObject({ attempt: 1, status: 200, delivered: true });
    // answered 200 at once: no retry within several retry delays
    await expectNothingWithin(
      RETRY_DELAY_MS * 10,
      'a second callback',
      () => receiver.for(certifyId).length > 1,
    );

    const body = await describeFace(certifyId);
    expect(body?.code).toBe('200');
    expect(body?.resultObject).toMatchObject({ passed: 'T', subCode: '200' });
    const material = JSON.parse(body?.resultObject?.materialInfo ?? '') as {
      faceAttack: string;
      facialPictureFront: { qualityScore: number; verifyScore: number };
    };
    expect(material.faceAttack).toBe('F');
    expect(material.facialPictureFront.verifyScore).toBeGreaterThanOrEqual(85);
    expect(material.facialPictureFront.verifyScore).toBeLessThan(100);
    expect(material.facialPictureFront.qualityScore).toBeGreaterThanOrEqual(85);
  });

  it('is single use: after an outcome, GET and POST answer 410 and the result stands', async () => {
    const { certifyId, certifyUrl } = await init(PASSING);
    expect((await post(certifyUrl, 'complete')).status).toBe(303);
    const again = await post(certifyUrl, 'fail');
    expect(again.status).toBe(410);
    expect(await again.text()).toContain('data-reason="used"');
    expect((await fetch(certifyUrl)).status).toBe(410);
    expect((await describeFace(certifyId))?.resultObject).toMatchObject({ passed: 'T' });
  });

  it('on fail: not passed with SubCode 205 (liveness), in the callback, ReturnUrl and Describe', async () => {
    const { certifyId, certifyUrl } = await init(PASSING, {
      callbackUrl: receiver.url('/cb'),
    });
    const res = await post(certifyUrl, 'fail');
    expect(returnedResponse(res)).toEqual({ certifyId, passed: 'F', subCode: '205' });
    await waitUntil('the callback', () => receiver.for(certifyId).length === 1);
    const query = receiver.for(certifyId)[0]?.searchParams;
    expect(query?.get('passed')).toBe('205');
    expect(query?.has('callbackToken')).toBe(false);
    const result = (await describeFace(certifyId))?.resultObject;
    expect(result).toMatchObject({ passed: 'F', subCode: '205' });
    expect(JSON.parse(result?.materialInfo ?? '')).toMatchObject({ faceAttack: 'T' });
  });

  it('judges complete by the ContrastFaceVerify rules: a rejected name is SubCode 201', async () => {
    const { certifyId, certifyUrl } = await init(REJECTED);
    expect(returnedResponse(await post(certifyUrl, 'complete'))).toMatchObject({
      passed: 'F',
      subCode: '201',
    });
    expect((await describeFace(certifyId))?.resultObject).toMatchObject({
      passed: 'F',
      subCode: '201',
    });
  });

  it('expires 30 minutes after Init: 410, no result, no callback', async () => {
    const { certifyId, certifyUrl } = await init(PASSING, { callbackUrl: receiver.url('/cb') });
    skewMs = 29 * 60_000;
    expect((await fetch(certifyUrl)).status).toBe(200);
    skewMs = 30 * 60_000 + 1000;
    const page = await fetch(certifyUrl);
    expect(page.status).toBe(410);
    expect(await page.text()).toContain('data-reason="expired"');
    expect((await post(certifyUrl, 'complete')).status).toBe(410);
    skewMs = 0;
    expect((await describeFace(certifyId))?.code).toBe('424');
    expect(receiver.for(certifyId)).toEqual([]);
    expect(deliveries(certifyId)).toEqual([]);
  });

  it('answers 404 to an unknown token and 400 to an unknown outcome', async () => {
    expect((await fetch(`${emu.url}/face-verify/${'0'.repeat(32)}`)).status).toBe(404);
    const { certifyUrl } = await init(PASSING);
    expect((await post(certifyUrl, 'maybe')).status).toBe(400);
    expect((await fetch(certifyUrl)).status).toBe(200);
  });
});

describe('the callback retries', () => {
  it('retries a receiver answering 500 twice, then stops at its 200: three deliveries', async () => {
    receiver.script = [500, 500, 200];
    const { certifyId, certifyUrl } = await init(PASSING, {
      callbackUrl: receiver.url('/cb'),
      callbackToken: 't',
    });
    await post(certifyUrl, 'complete');
    await waitUntil('three attempts recorded', () => deliveries(certifyId).length === 3);
    expect(receiver.for(certifyId)).toHaveLength(3);
    expect(deliveries(certifyId).map((d) => [d.attempt, d.status, d.delivered])).toEqual([
      [1, 500, false],
      [2, 500, false],
      [3, 200, true],
    ]);
    const admin = (await (await fetch(`${emu.url}/__admin/face-verify/callbacks`)).json()) as {
      certifyId: string;
    }[];
    expect(admin.filter((d) => d.certifyId === certifyId)).toHaveLength(3);
  });

  it('gives up after three attempts, never follows a redirect, and survives a refused connection', async () => {
    receiver.script = [302, 302, 302];
    const redirected = await init(PASSING, { callbackUrl: receiver.url('/cb') });
    await post(redirected.certifyUrl, 'complete');
    await waitUntil('three attempts', () => deliveries(redirected.certifyId).length === 3);
    expect(deliveries(redirected.certifyId).every((d) => d.status === 302 && !d.delivered)).toBe(
      true,
    );
    expect(receiver.requests.some((u) => u.pathname === '/elsewhere')).toBe(false);

    // a port that was listening a moment ago and is closed now: connection refused
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const port = (gone.address() as AddressInfo).port;
    await new Promise<void>((resolve) => gone.close(() => resolve()));
    const refused = await init(PASSING, { callbackUrl: `http://127.0.0.1:${port}/cb` });
    await post(refused.certifyUrl, 'complete');
    await waitUntil('three attempts', () => deliveries(refused.certifyId).length === 3);
    expect(deliveries(refused.certifyId).map((d) => d.failure)).toEqual([
      'connection',
      'connection',
      'connection',
    ]);
    await expectNothingWithin(
      RETRY_DELAY_MS * 10,
      'a fourth attempt',
      () => deliveries(refused.certifyId).length > 3,
    );
  });
});
