import {
  createServer,
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CloudauthClient } from '../../src/adapters/cloudauth/client.js';
import { OrchestratorError, ProviderError, TransportError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';

const ACCESS_KEY_ID = 'LTAIwireTest';
const SECRET = 'wire-secret-Kx7';
const SECURITY_TOKEN = 'CAISwireStsToken';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

type Answer = (res: ServerResponse, seen: Seen) => void;

let server: Server;
let endpoint: string;
let answer: Answer;
let seen: Seen[] = [];
let logLines: string[] = [];
let client: CloudauthClient;

const json =
  (status: number, body: unknown): Answer =>
  (res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };

function params(s: Seen): URLSearchParams {
  return s.method === 'POST'
    ? new URLSearchParams(s.body)
    : new URLSearchParams(s.url.slice(s.url.indexOf('?') + 1));
}

async function failure(call: Promise<unknown>): Promise<OrchestratorError> {
  const outcome = await call.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(OrchestratorError);
  const err = outcome as OrchestratorError;
  for (const view of [err.message, JSON.stringify(err), String(JSON.stringify(err.cause))]) {
    for (const needle of [SECRET, SECURITY_TOKEN, ACCESS_KEY_ID, 'Signature=', endpoint]) {
      expect(view).not.toContain(needle);
    }
  }
  return err;
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: Seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      seen.push(s);
      answer(res, s);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  client = new CloudauthClient({
    endpoint,
    accessKeyId: ACCESS_KEY_ID,
    accessKeySecret: SECRET,
    securityToken: SECURITY_TOKEN,
    timeoutMs: 2000,
    logger: createLogger({ level: 'debug' }, sink),
  });
});

afterEach(() => {
  seen = [];
  logLines = [];
});

afterAll(async () => {
  client.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const statusBody = (data: string) =>
  `{"RequestId":"REQ-W","Code":"1","Success":true,"Data":${data}}`;

describe('CloudauthClient on the wire (pop-core against a local HTTP server)', () => {
  it('POSTs GetVerifyToken as a form body with JSON Binding and UserData and no undefined values', async () => {
    answer = json(200, {
      RequestId: 'REQ-1',
      Code: '1',
      Success: true,
      Data: {
        CloudauthPageUrl: 'http://h5/x',
        VerifyToken: { Token: 'tok', DurationSeconds: 1800 },
        StsToken: {
          AccessKeyId: 'STS.a',
          AccessKeySecret: 's',
          Expiration: '2026-11-28T10:00:00Z',
          EndPoint: 'http://oss',
          BucketName: 'b',
          Path: 'p/',
          Token: 't',
        },
      },
    });
    const binding = { Name: '张三', IdentificationNumber: '11010519491231002X' };
    const result = await client.getVerifyToken({
      biz: 'RPBioOnly',
      ticketId: 'T-1',
      binding,
      userData: { a: 1 },
    });
    expect(result.verifyToken).toEqual({ token: 'tok', durationSeconds: 1800 });

    const [s] = seen;
    expect(s?.method).toBe('POST');
    expect(s?.url).toBe('/');
    expect(s?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(s?.headers['x-acs-action']).toBe('GetVerifyToken');
    expect(s?.headers['x-acs-version']).toBe('2018-09-16');
    const p = params(s as Seen);
    expect(p.get('Action')).toBe('GetVerifyToken');
    expect(p.get('Version')).toBe('2018-09-16');
    expect(p.get('RegionId')).toBe('cn-hangzhou');
    expect(p.get('Format')).toBe('JSON');
    expect(p.get('SecurityToken')).toBe(SECURITY_TOKEN);
    expect(JSON.parse(p.get('Binding') ?? '')).toEqual(binding);
    expect(JSON.parse(p.get('UserData') ?? '')).toEqual({ a: 1 });
    expect(p.has('VerifyConfigs')).toBe(false);
    expect(s?.body).not.toContain('undefined');
    expect(s?.body).not.toContain('object%20Object');
  });

  it('POSTs materials flattened as Material.<n>.MaterialType / Material.<n>.Value', async () => {
    answer = json(200, {
      RequestId: 'REQ-2',
      Code: '1',
      Success: true,
      Data: { VerifyStatus: { StatusCode: 0 } },
    });
    const result = await client.submitVerification({
      biz: 'RPMin',
      ticketId: 'T-2',
      materials: [
        { type: 'Name', value: '张三' },
        { type: 'FacePic', value: 'base64://AAAA' },
      ],
    });
    expect(result).toEqual({ requestId: 'REQ-2', statusCode: 0 });
    const p = params(seen[0] as Seen);
    expect(seen[0]?.method).toBe('POST');
    expect(p.get('Material.1.MaterialType')).toBe('Name');
    expect(p.get('Material.1.Value')).toBe('张三');
    expect(p.get('Material.2.MaterialType')).toBe('FacePic');
    expect(p.get('Material.2.Value')).toBe('base64://AAAA');
    expect(p.get('Biz')).toBe('RPMin');
  });

  it('GETs GetStatus with the params in the query string', async () => {
    answer = json(200, statusBody('{"StatusCode":1}'));
    await client.getStatus({ biz: 'RPBasic', ticketId: 'T-3' });
    expect(seen[0]?.method).toBe('GET');
    const p = params(seen[0] as Seen);
    expect(p.get('Action')).toBe('GetStatus');
    expect(p.get('TicketId')).toBe('T-3');
  });

  it('converts scores that json-bigint parsed as BigNumber, and accepts a numeric Code 1', async () => {
    answer = json(
      200,
      '{"RequestId":"REQ-4","Code":1,"Success":true,"Data":{"StatusCode":1,' +
        '"SimilarityScore":93.1234567890123456,"TrustedScore":null,"AuthorityComparisonScore":"88.5"}}',
    );
    const result = await client.getStatus({ biz: 'RPBasic', ticketId: 'T-4' });
    expect(result).toEqual({
      requestId: 'REQ-4',
      statusCode: 1,
      similarityScore: 93.12345678901235,
      authorityComparisonScore: 88.5,
    });
  });

  it('turns a non-JSON answer (a proxy error page) into PROVIDER_BAD_RESPONSE', async () => {
    answer = (res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html><body>502 Bad Gateway</body></html>');
    };
    const err = await failure(client.getStatus({ biz: 'RPBasic', ticketId: 'T-5' }));
    expect(err).toBeInstanceOf(TransportError);
    expect(err.code).toBe('PROVIDER_BAD_RESPONSE');
    expect(err.retryable).toBe(true);
  });

  it('turns a malformed success body into PROVIDER_BAD_RESPONSE with its RequestId, logged at warn', async () => {
    answer = json(200, statusBody('{"StatusCode":7}'));
    const err = await failure(client.getStatus({ biz: 'RPBasic', ticketId: 'T-6' }));
    expect(err).toBeInstanceOf(TransportError);
    expect(err.code).toBe('PROVIDER_BAD_RESPONSE');
    expect(err.requestId).toBe('REQ-W');
    expect(err.message).toMatch(/^GetStatus failed: malformed success answer \(Data\.StatusCode/);
    expect(
      logLines.some((l) => l.includes('"level":40') && l.includes('PROVIDER_BAD_RESPONSE')),
    ).toBe(true);
  });

  it('rejects a body with Success false or without Data', async () => {
    answer = json(200, '{"RequestId":"REQ-7","Code":"1","Success":false,"Data":{"StatusCode":1}}');
    expect((await failure(client.getStatus({ biz: 'B', ticketId: 'T' }))).code).toBe(
      'PROVIDER_BAD_RESPONSE',
    );
    answer = json(200, '{"RequestId":"REQ-8","Code":"1","Success":true}');
    expect((await failure(client.getMaterials({ biz: 'B', ticketId: 'T' }))).code).toBe(
      'PROVIDER_BAD_RESPONSE',
    );
  });

  it('does not retry an unknown code and logs it at warn without secrets', async () => {
    answer = json(400, { RequestId: 'REQ-9', HostId: 'h', Code: 'Brand.NewCode', Message: 'new' });
    const err = await failure(client.getStatus({ biz: 'RPBasic', ticketId: 'T-9' }));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.code).toBe('PROVIDER_UNKNOWN_CODE');
    expect(err.retryable).toBe(false);
    expect(err.providerCode).toBe('Brand.NewCode');
    expect(err.requestId).toBe('REQ-9');
    expect(err.httpStatus).toBe(400);
    const warn = logLines.find((l) => l.includes('"level":40'));
    expect(warn).toContain('Brand.NewCode');
    for (const line of logLines) {
      for (const needle of [SECRET, SECURITY_TOKEN, ACCESS_KEY_ID, 'Signature=']) {
        expect(line).not.toContain(needle);
      }
    }
  });

  it('turns a connection dropped before the answer into PROVIDER_UNREACHABLE', async () => {
    answer = (res) => {
      res.socket?.destroy();
    };
    const err = await failure(client.getStatus({ biz: 'RPBasic', ticketId: 'T-10' }));
    expect(err).toBeInstanceOf(TransportError);
    expect(err.code).toBe('PROVIDER_UNREACHABLE');
    expect(err.cause).toMatchObject({ code: 'ECONNRESET' });
  });
});
