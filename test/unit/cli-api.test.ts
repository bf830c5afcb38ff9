/**
 * The pure parts of the CLI's `--api` mode: how tickets are cut into batch requests, where the
 * token and the URL come from, how the API's answers map to exit codes, and that a ticket reads
 * the same over the API as from Redis.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { batchRoute, type BatchRouteDeps } from '../../src/api/batch-route.js';
import { openApiDocument } from '../../src/api/openapi.js';
import { problemTypeUri } from '../../src/api/problems.js';
import type { Problem } from '../../src/api/schemas.js';
import { ticketSummaryView, ticketViewOf } from '../../src/api/views.js';
import { ApiFailure, batchMaxIn, failureOf } from '../../src/cli/api-client.js';
import { API_EXIT_CODES } from '../../src/cli/api-context.js';
import {
  API_TOKEN_ENV,
  apiBaseUrl,
  parseToken,
  plainHttpWarning,
  resolveApiTarget,
} from '../../src/cli/api-target.js';
import { defaultBatchId } from '../../src/cli/enqueue-command.js';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { reportRow, reportRowOfApi } from '../../src/cli/report-command.js';
import {
  batchBody,
  DEFAULT_BATCH_MAX,
  DEFAULT_BODY_LIMIT_BYTES,
  envelopeBytes,
  packRequests,
  requestBudget,
  RequestPacker,
  type PackLimits,
} from '../../src/cli/request-packing.js';
import { parseRow, type RowCheckContext } from '../../src/cli/row-check.js';
import { statusView, statusViewOfApi } from '../../src/cli/status-command.js';
import { CONFIG_KEYS, loadConfig } from '../../src/config.js';
import { unknownSettings, type ConfigRole } from '../../src/config-mode.js';
import type { HistoryEntry } from '../../src/domain/ticket.js';
import { StartLinks } from '../../src/flow/start-links.js';
import type { StoredTicket } from '../../src/adapters/redis/ticket-store.js';

describe('cutting tickets into batch requests', () => {
  const limits = (maxBytes: number, maxItems = 100): PackLimits => ({
    maxBytes,
    maxItems,
    envelopeBytes: envelopeBytes('b-1'),
  });
  const sizes = (packed: ReturnType<typeof packRequests<string>>) =>
    packed.map((p) => (p.kind === 'request' ? p.items : `oversize:${p.item}`));

  it('counts a body exactly as it is sent: the envelope, the tickets and the commas between', () => {
    const tickets = ['{"TicketId":"a"}', '{"TicketId":"b"}', '{"TicketId":"c"}'];
    const [request] = packRequests(
      tickets.map((t) => ({ item: t, bytes: Buffer.byteLength(t) })),
      limits(10_000),
    );
    expect(request).toEqual({
      kind: 'request',
      items: tickets,
      bytes: Buffer.byteLength(batchBody('b-1', tickets)),
    });
    expect(JSON.parse(batchBody('b-1', tickets))).toEqual({
      batchId: 'b-1',
      tickets: [{ TicketId: 'a' }, { TicketId: 'b' }, { TicketId: 'c' }],
    });
  });

  it('fills each request up to the byte budget, in order, and starts the next with the ticket that does not fit', () => {
    const envelope = envelopeBytes('b-1');
    // 3 tickets of 100 bytes take 302 bytes besides the envelope; a 4th would take 403
    const packed = packRequests(
      ['a', 'b', 'c', 'd', 'e'].map((item) => ({ item, bytes: 100 })),
      limits(envelope + 302),
    );
    expect(sizes(packed)).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e'],
    ]);
    expect(packed.every((p) => p.bytes <= envelope + 302)).toBe(true);
    expect(
      sizes(
        packRequests(
          [
            { item: 'a', bytes: 100 },
            { item: 'b', bytes: 100 },
          ],
          limits(envelope + 200),
        ),
      ),
    ).toEqual([['a'], ['b']]);
  });

  it('carries at most the batch cap of tickets per request', () => {
    const packed = packRequests(
      Array.from({ length: 7 }, (_, i) => ({ item: `t${i}`, bytes: 10 })),
      limits(1_000_000, 3),
    );
    expect(sizes(packed)).toEqual([['t0', 't1', 't2'], ['t3', 't4', 't5'], ['t6']]);
  });

  it('sends a large ticket in a request of its own, and sets aside one too large to go alone', () => {
    const envelope = envelopeBytes('b-1');
    const packed = packRequests(
      [
        { item: 'small-1', bytes: 10 },
        { item: 'large', bytes: 995 },
        { item: 'huge', bytes: 1001 },
        { item: 'small-2', bytes: 10 },
      ],
      limits(envelope + 1000),
    );
    expect(sizes(packed)).toEqual([['small-1'], 'oversize:huge', ['large'], ['small-2']]);
  });

  it('keeps later requests within a smaller budget once shrunk', () => {
    const envelope = envelopeBytes('b-1');
    const packer = new RequestPacker<string>(limits(envelope + 1000));
    expect(packer.add('a', 300)).toEqual([]);
    packer.shrink(envelope + 500);
    expect(packer.add('b', 300)).toEqual([
      { kind: 'request', items: ['a'], bytes: envelope + 300 },
    ]);
    expect(packer.add('c', 600)).toEqual([{ kind: 'oversize', item: 'c', bytes: 600 }]);
    expect(packer.flush()).toEqual([{ kind: 'request', items: ['b'], bytes: envelope + 300 }]);
    expect(packer.flush()).toEqual([]);
  });

  it('leaves a margin under the body limit, and assumes the API defaults of src/config.ts', () => {
    expect(requestBudget(16 * 1024 * 1024)).toBe(16 * 1024 * 1024 - 512 * 1024);
    expect(requestBudget(20_000)).toBe(20_000 - 1024);
    const defaults = loadConfig({}).api;
    expect(DEFAULT_BODY_LIMIT_BYTES).toBe(defaults.bodyLimitBytes);
    expect(DEFAULT_BATCH_MAX).toBe(defaults.batchMax);
  });

  it("reads the batch cap from the API's OpenAPI document", () => {
    // batchRoute reads only batchMax to describe itself; its handler, which needs the rest, is not run
    const route = batchRoute({ batchMax: 7, biz: {} } as unknown as BatchRouteDeps);
    expect(batchMaxIn(openApiDocument([route]))).toBe(7);
    expect(batchMaxIn({ openapi: '3.1.0', paths: {} })).toBeUndefined();
    expect(batchMaxIn('not a document')).toBeUndefined();
  });
});

describe('where --api and its token come from', () => {
  const TOKEN = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

  it(`takes the token from ${API_TOKEN_ENV}, which no role or direct-mode command refuses as unknown`, () => {
    expect(unknownSettings({ [API_TOKEN_ENV]: TOKEN }, Object.keys(CONFIG_KEYS))).toBeUndefined();
    for (const role of ['all', 'api', 'worker', 'emulator', 'cli'] satisfies ConfigRole[]) {
      expect(() => loadConfig({ [API_TOKEN_ENV]: TOKEN }, role)).not.toThrow();
    }
    // the name the brief suggested would be refused beside every role and direct-mode command
    expect(
      unknownSettings({ CLOUDAUTH_ORCHESTRATOR_API_TOKEN: TOKEN }, Object.keys(CONFIG_KEYS)),
    ).toMatch(/unknown setting CLOUDAUTH_ORCHESTRATOR_API_TOKEN/);
  });

  it('resolves the target from the environment, naming the source and never the token', async () => {
    await expect(resolveApiTarget({}, { [API_TOKEN_ENV]: TOKEN }, '/')).resolves.toBeUndefined();
    await expect(
      resolveApiTarget({ api: 'http://10.0.0.5:8080/' }, { [API_TOKEN_ENV]: ` ${TOKEN}\n` }, '/'),
    ).resolves.toEqual({ base: 'http://10.0.0.5:8080', token: TOKEN, tokenSource: API_TOKEN_ENV });
    await expect(resolveApiTarget({ api: 'http://10.0.0.5:8080' }, {}, '/')).rejects.toMatchObject({
      exitCode: ExitCode.usage,
      message: `--api needs the API's bearer token: give --token-file <path>, or set ${API_TOKEN_ENV}`,
    });
    const spaced = 'two words';
    const refused = resolveApiTarget({ api: 'http://h' }, { [API_TOKEN_ENV]: spaced }, '/');
    await expect(refused).rejects.toMatchObject({ exitCode: ExitCode.usage });
    await expect(refused).rejects.not.toMatchObject({ message: expect.stringContaining(spaced) });
    await expect(resolveApiTarget({ tokenFile: 't' }, {}, '/')).rejects.toMatchObject({
      message: '--token-file goes with --api',
    });
  });

  it('takes an http(s) base URL, under a path too, never with credentials, a query or a fragment', () => {
    expect(apiBaseUrl('https://orchestrator.example.test/base/')).toBe(
      'https://orchestrator.example.test/base',
    );
    expect(apiBaseUrl('http://[::1]:8080')).toBe('http://[::1]:8080');
    for (const bad of [
      '10.0.0.5:8080',
      'ftp://h/',
      'http://u:p@h/',
      'http://h/?a=1',
      'http://h/#x',
      'nope',
    ]) {
      expect(() => apiBaseUrl(bad), bad).toThrow(/--api/);
    }
    expect(parseToken(`${TOKEN}\r\n`)).toBe(TOKEN);
    expect(parseToken(`${TOKEN}\n${TOKEN}`)).toBeUndefined();
    expect(parseToken('')).toBeUndefined();
  });

  it('over --api, a default batch id fits the 64 characters the API takes', () => {
    const id = defaultBatchId(`/in/${'n'.repeat(100)}.csv`, new Date(0), 47);
    expect(id).toHaveLength(64);
    expect(id).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
  });
});

describe("the API's answers as the CLI's exit codes", () => {
  const problem = (type: string, code?: string): Problem => ({
    type,
    title: 't',
    status: 0,
    detail: 'd',
    ...(code === undefined ? {} : { code }),
  });
  const uri = problemTypeUri;

  it.each([
    [401, problem(uri('UNAUTHORIZED')), ApiFailure.unauthorized, ExitCode.usage],
    [403, undefined, ApiFailure.unauthorized, ExitCode.usage],
    [503, problem(uri('STORE_FULL'), 'STORE_FULL'), ApiFailure.full, ExitCode.storeFull],
    [503, problem('urn:x:staging-full', 'STAGING_FULL'), ApiFailure.full, ExitCode.storeFull],
    [
      503,
      problem(uri('STORE_UNAVAILABLE'), 'STORE_UNAVAILABLE'),
      ApiFailure.unavailable,
      ExitCode.unexpected,
    ],
    [
      503,
      problem('urn:x:staging-unavailable', 'STAGING_UNAVAILABLE'),
      ApiFailure.unavailable,
      ExitCode.unexpected,
    ],
    [503, problem(uri('SHUTTING_DOWN')), ApiFailure.unavailable, ExitCode.unexpected],
    [502, undefined, ApiFailure.unavailable, ExitCode.unexpected],
    [413, problem(uri('BODY_TOO_LARGE')), ApiFailure.tooLarge, ExitCode.unexpected],
    [404, problem(uri('UNKNOWN_TICKET')), ApiFailure.unknownTicket, ExitCode.unknown],
    [404, problem(uri('ROUTE_NOT_FOUND')), ApiFailure.refused, ExitCode.unexpected],
    [404, undefined, ApiFailure.refused, ExitCode.unexpected],
    [
      409,
      problem(uri('ILLEGAL_TRANSITION'), 'ILLEGAL_TRANSITION'),
      ApiFailure.illegalState,
      ExitCode.illegalState,
    ],
    [409, problem(uri('TICKET_CONFLICT')), ApiFailure.refused, ExitCode.unexpected],
    [500, problem(uri('INTERNAL')), ApiFailure.refused, ExitCode.unexpected],
  ] as const)('%i %o is %s, exit %i', (status, p, failure, exit) => {
    expect(failureOf(status, p)).toBe(failure);
    expect(API_EXIT_CODES[failure]).toBe(exit);
  });
});

describe('a ticket reads the same over the API as from Redis', () => {
  const at = Date.UTC(2026, 2, 1, 8, 0, 0);
  const ticket: StoredTicket = {
    ticketId: 't-1',
    biz: 'RPMin',
    flow: 'server',
    state: 'passed',
    version: 3,
    attempts: 1,
    batchId: 'b-1',
    verdict: { statusCode: 1, similarityScore: 91.5, trustedScore: 99, emulated: true },
    lastError: { code: 'PROVIDER_THROTTLED', message: 'throttled', retryable: true, at: at + 10 },
    createdAt: at,
    updatedAt: at + 50,
    finishedAt: at + 50,
    payloadHash: 'h',
  };
  const binding = { name: '王芳', idNumber: '11010119900307002X', materials: {} };
  const history: HistoryEntry[] = [
    { from: 'queued', to: 'token_issued', event: 'token_issued', at: at + 20, attempt: 1 },
    {
      from: 'token_issued',
      to: 'passed',
      event: 'verdict',
      cause: 'passed',
      at: at + 50,
      attempt: 1,
    },
  ];

  it('status', () => {
    const fromApi = statusViewOfApi(ticketViewOf(ticket, binding, history));
    expect(fromApi).toEqual(statusView(ticket, binding, history));
    expect(JSON.stringify(fromApi)).not.toContain('王芳');
    const { verdict: _v, lastError: _e, finishedAt: _f, batchId: _b, ...rest } = ticket;
    const bare: StoredTicket = { ...rest, state: 'queued' };
    expect(statusViewOfApi(ticketViewOf(bare, undefined, []))).toEqual(
      statusView(bare, undefined, []),
    );
  });

  it('report', () => {
    expect(reportRowOfApi(ticketSummaryView(ticket))).toEqual(reportRow(ticket));
    const { verdict: _v, lastError: _e, finishedAt: _f, ...bare } = ticket;
    expect(reportRowOfApi(ticketSummaryView(bare))).toEqual(reportRow(bare));
  });

  // a financial-grade ticket: its verdict's SubCode and CertifyId, its OuterOrderNo, its start link
  const links = new StartLinks(randomBytes(32), () => 'https://kyc.example.com');
  const financial: StoredTicket = {
    ...ticket,
    ticketId: 'fin/t#1',
    biz: 'FaceServer',
    family: 'financial',
    verdict: { statusCode: 2, subCode: '204', certifyId: 'c0ffee', emulated: true },
  };
  const { verdict: _fv, finishedAt: _ff, lastError: _fe, ...running } = financial;
  const waiting: StoredTicket = {
    ...running,
    ticketId: 'finH5',
    biz: 'FaceH5',
    flow: 'interactive',
    state: 'queued',
    startBy: at + 86_400_000,
  };

  it('status of a financial ticket, with its start link while it waits', () => {
    for (const t of [financial, waiting, { ...waiting, state: 'awaiting_user' as const }]) {
      const fromApi = statusViewOfApi(ticketViewOf(t, binding, history, links));
      expect(fromApi).toEqual(statusView(t, binding, history, links));
    }
    expect(statusView(financial, binding, history, links)).toMatchObject({
      family: 'financial',
      outerOrderNo: expect.stringMatching(/^[0-9a-f]{32}$/),
      verdict: { statusCode: 2, subCode: '204', certifyId: 'c0ffee' },
    });
    expect(statusView(waiting, binding, history, links)).toMatchObject({
      outerOrderNo: 'finH5',
      startUrl: links.startUrlOf(waiting),
    });
  });

  it('report of a financial ticket', () => {
    for (const t of [financial, waiting]) {
      expect(reportRowOfApi(ticketSummaryView(t))).toEqual(reportRow(t));
    }
  });
});

describe('row checks without the API configuration (--api)', () => {
  const ctx: RowCheckContext = { biz: undefined, baseDir: '/data', batchId: 'b' };
  const row = (binding: Record<string, string>, biz = 'AnyBiz') => ({
    TicketId: 't',
    Biz: biz,
    Binding: binding,
  });

  it('leaves the Biz and the fields its scheme requires to the API, and keeps the local files', () => {
    const check = parseRow(
      row({ FacePic: 'f/a.jpg', IdCardFrontPic: 'https://img.example.test/a.jpg' }),
      ctx,
    );
    expect(check).toEqual({
      ok: true,
      input: {
        ticketId: 't',
        biz: 'AnyBiz',
        batchId: 'b',
        binding: { materials: { FacePic: { kind: 'file', path: '/data/f/a.jpg' } } },
      },
    });
  });

  it('still refuses what it can tell alone: the ID number, the shape, a missing Biz', () => {
    expect(parseRow(row({ IdentificationNumber: '630546198009090099' }), ctx)).toEqual({
      ok: false,
      problems: [
        { field: 'Binding.IdentificationNumber', message: 'check digit does not match (GB 11643)' },
      ],
    });
    expect(parseRow({ ...row({}), Extra: 1 }, ctx)).toMatchObject({
      ok: false,
      problems: [{ field: 'Extra', message: 'is not a known field' }],
    });
    expect(parseRow({ TicketId: 't', Binding: {} }, ctx)).toEqual({
      ok: false,
      problems: [{ field: 'Biz', message: 'is missing: give --biz or a Biz' }],
    });
  });
});

describe('plain http to another machine', () => {
  it('is warned about, naming no token; loopback and https are not', () => {
    const warning = plainHttpWarning('http://10.0.0.5:8080');
    expect(warning).toContain('plain http');
    expect(warning).toContain('http://10.0.0.5:8080');
    for (const quiet of [
      'http://127.0.0.1:8080',
      'http://localhost:8080',
      'http://[::1]:8080',
      'https://kyc.internal',
    ]) {
      expect(plainHttpWarning(quiet), quiet).toBeUndefined();
    }
  });

  it('is written to stderr when a command resolves its target', async () => {
    const written: string[] = [];
    const stderr = { write: (text: string) => written.push(text) };
    const token = 'a-token-0123456789abcdef';
    const target = await resolveApiTarget(
      { api: 'http://10.0.0.5:8080' },
      { [API_TOKEN_ENV]: token },
      '/',
      stderr,
    );
    expect(target?.base).toBe('http://10.0.0.5:8080');
    expect(written.join('')).toMatch(/^warning: --api http:\/\/10\.0\.0\.5:8080 is plain http/);
    expect(written.join('')).not.toContain(token);
    await resolveApiTarget(
      { api: 'https://10.0.0.5:8080' },
      { [API_TOKEN_ENV]: token },
      '/',
      stderr,
    );
    expect(written).toHaveLength(1);
  });
});
