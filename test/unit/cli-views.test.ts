import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { CliError, ExitCode } from '../../src/cli/exit-codes.js';
import { operationError } from '../../src/cli/operation-error.js';
import {
  REPORT_COLUMNS,
  reportEncoder,
  reportFormatOf,
  reportRow,
} from '../../src/cli/report-command.js';
import { checkRetryArguments } from '../../src/cli/retry-command.js';
import { apiPublicUrlOf, cliStartLinks } from '../../src/cli/start-links.js';
import { formatStatus, statusView } from '../../src/cli/status-command.js';
import { loadConfig } from '../../src/config.js';
import { outerOrderNoOf } from '../../src/domain/biz.js';
import { StartLinks } from '../../src/flow/start-links.js';
import { IllegalTransitionError, TicketNotFoundError } from '../../src/errors.js';
import type { StoredTicket } from '../../src/adapters/redis/ticket-store.js';

const T0 = Date.UTC(2025, 2, 1, 8, 0, 0);

const passed: StoredTicket = {
  ticketId: 't-1',
  biz: 'RPMin',
  flow: 'server',
  state: 'passed',
  version: 2,
  attempts: 0,
  batchId: 'b-1',
  verdict: {
    statusCode: 1,
    similarityScore: 93.5,
    trustedScore: 97,
    authorityComparisonScore: 91.25,
    auditConclusions: 'ok',
  },
  createdAt: T0,
  updatedAt: T0 + 2000,
  finishedAt: T0 + 2000,
  payloadHash: 'h',
  lease: {
    verifyToken: 'secret-token',
    tokenExpiresAt: T0,
    sts: {
      accessKeyId: 'STS.k',
      accessKeySecret: 'sts-secret',
      securityToken: 'sts-token',
      endPoint: 'e',
      bucketName: 'b',
      path: 'p/',
      expiresAt: T0,
    },
    pageUrl: 'https://h5',
    issuedAt: T0,
  },
};
const binding = { name: '李三', idNumber: '630546198009090090', materials: {} };
const history = [
  { from: 'queued', to: 'token_issued', event: 'token_issued', at: T0 + 1000, attempt: 0 },
  {
    from: 'token_issued',
    to: 'passed',
    event: 'verdict',
    cause: 'passed',
    at: T0 + 2000,
    attempt: 0,
  },
] as const;

const links = new StartLinks(randomBytes(32), () => 'https://kyc.example.com');
const CERTIFY_ID = 'sha0f1c2d3e4b5a69788796a5b4c3d2e1f0';
const financialPassed: StoredTicket = {
  ...passed,
  ticketId: 'fin/server#1',
  biz: 'FaceServer',
  family: 'financial',
  verdict: { statusCode: 1, subCode: '200', certifyId: CERTIFY_ID, similarityScore: 88 },
};
const { verdict: _v, finishedAt: _f, lease: _l, ...running } = passed;
const waiting: StoredTicket = {
  ...running,
  ticketId: 'finH5x1',
  biz: 'FaceH5',
  flow: 'interactive',
  family: 'financial',
  state: 'queued',
  version: 0,
  startBy: T0 + 7 * 86_400_000,
};

describe('status', () => {
  it('masks the applicant and leaves the lease out', () => {
    const view = statusView(passed, binding, history);
    expect(view.applicant).toEqual({ name: '李*', idNumber: '6305**********0090' });
    const json = JSON.stringify(view);
    expect(json).not.toContain('630546198009090090');
    expect(json).not.toContain('李三');
    expect(json).not.toMatch(/secret|sts-token|h5/);
    expect(view.history[1]).toEqual({
      at: '2025-03-01T08:00:02.000Z',
      from: 'token_issued',
      to: 'passed',
      event: 'verdict',
      cause: 'passed',
    });
  });

  it('prints state, verdict, applicant, last error and history for a person', () => {
    const text = formatStatus(
      statusView(
        {
          ...passed,
          lastError: {
            code: 'PROVIDER_INTERNAL',
            message: 'InternalError',
            retryable: true,
            at: T0 + 500,
          },
        },
        binding,
        history,
      ),
    );
    expect(text).toContain('State       passed\n');
    expect(text).toContain('Applicant   李*  6305**********0090\n');
    expect(text).toContain(
      'Verdict     passed (StatusCode 1), similarity 93.5, trusted 97, authority 91.25\n',
    );
    expect(text).toContain(
      'Last error  PROVIDER_INTERNAL: InternalError (retryable, 2025-03-01T08:00:00.500Z)\n',
    );
    expect(text).toContain('  2025-03-01T08:00:01.000Z  queued → token_issued  (token_issued)\n');
    expect(text).toContain('(verdict: passed)\n');
    expect(text).not.toContain('Emulated');
  });

  it('marks a verdict reached on the emulator, beside the verdict, in the view and the text', () => {
    const emulated: StoredTicket = { ...passed, verdict: { statusCode: 1, emulated: true } };
    const view = statusView(emulated, binding, history);
    expect(view).toMatchObject({ verdict: { statusCode: 1 }, emulated: true });
    expect(view.verdict).not.toHaveProperty('emulated');
    expect(formatStatus(view)).toContain(
      'Verdict     passed (StatusCode 1)\nEmulated    yes: reached in embedded mode on the Cloudauth emulator, not a real check\n',
    );
    expect(statusView(passed, binding, history)).not.toHaveProperty('emulated');
  });

  it('says a ticket without a family is legacy, and gives it no OuterOrderNo and no start link', () => {
    const view = statusView(passed, binding, history, links);
    expect(view).toMatchObject({ family: 'legacy' });
    expect(view).not.toHaveProperty('outerOrderNo');
    expect(view).not.toHaveProperty('startUrl');
    const text = formatStatus(view);
    expect(text).toContain('Biz         RPMin (server flow)\n');
    expect(text).not.toMatch(/OuterOrderNo|Start link|SubCode|CertifyId/);
  });

  it('shows a financial verdict with its SubCode and CertifyId, and the OuterOrderNo', () => {
    const view = statusView(financialPassed, binding, history, links);
    expect(view).toMatchObject({
      family: 'financial',
      outerOrderNo: outerOrderNoOf('fin/server#1'),
      verdict: { statusCode: 1, subCode: '200', certifyId: CERTIFY_ID, similarityScore: 88 },
    });
    // ended: no start link, even with the links at hand
    expect(view).not.toHaveProperty('startUrl');
    const text = formatStatus(view);
    expect(text).toContain('Biz         FaceServer (financial-grade, server flow)\n');
    expect(text).toContain(`OuterOrderNo ${outerOrderNoOf('fin/server#1')}\n`);
    expect(text).toContain('Verdict     passed (StatusCode 1, SubCode 200), similarity 88\n');
    expect(text).toContain(`CertifyId   ${CERTIFY_ID}\n`);
  });

  it('gives an ID_PRO ticket its start link while it waits, one the API accepts, and none once it ended', () => {
    const view = statusView(waiting, binding, [], links);
    expect(view).toMatchObject({ family: 'financial', outerOrderNo: 'finH5x1', state: 'queued' });
    expect(view.startUrl).toMatch(/^https:\/\/kyc\.example\.com\/v1\/start\/[\w-]+\.\d+\.[\w-]+$/);
    const token = view.startUrl?.split('/').pop() ?? '';
    expect(links.verify(token, T0)).toEqual({ ticketId: 'finH5x1', startBy: waiting.startBy });
    expect(formatStatus(view)).toContain(`State       queued\nStart link  ${view.startUrl}\n`);
    const awaiting = statusView({ ...waiting, state: 'awaiting_user' }, binding, [], links);
    expect(awaiting.startUrl).toBe(view.startUrl);
    for (const state of ['expired', 'cancelled', 'failed', 'passed'] as const) {
      expect(statusView({ ...waiting, state }, binding, [], links)).not.toHaveProperty('startUrl');
    }
    // without the links (direct mode that does not know the API's public URL): none
    expect(statusView(waiting, binding, [])).not.toHaveProperty('startUrl');
    expect(JSON.stringify(view)).not.toContain('李三');
  });
});

describe('start links in direct mode', () => {
  const key = randomBytes(32).toString('base64');
  const config = (env: Record<string, string>) =>
    loadConfig({ ORCHESTRATOR_MODE: 'embedded', ENCRYPTION_KEY: key, ...env }, 'cli');

  it("are made on API_PUBLIC_URL, else in embedded mode on the API's own address", () => {
    expect(apiPublicUrlOf(config({ API_PUBLIC_URL: 'https://kyc.example.com/' }))).toBe(
      'https://kyc.example.com',
    );
    expect(apiPublicUrlOf(config({ API_HOST: '127.0.0.1', API_PORT: '8080' }))).toBe(
      'http://127.0.0.1:8080',
    );
    expect(apiPublicUrlOf(config({ API_HOST: '::1', API_PORT: '8080' }))).toBe('http://[::1]:8080');
  });

  it('are not made where the address is unknown here: a free port, or production without API_PUBLIC_URL', () => {
    expect(apiPublicUrlOf(config({ API_PORT: '0' }))).toBeUndefined();
    expect(cliStartLinks(config({ API_PORT: '0' }))).toBeUndefined();
    const production = loadConfig(
      { ORCHESTRATOR_MODE: 'production', ENCRYPTION_KEY: key, REDIS_URL: 'redis://10.0.0.5:6379' },
      'cli',
    );
    expect(apiPublicUrlOf(production)).toBeUndefined();
  });

  it("make the API's own link: the same key and URL give the same token", () => {
    const made = cliStartLinks(config({ API_PUBLIC_URL: 'https://kyc.example.com' }));
    const apis = new StartLinks(Buffer.from(key, 'base64'), () => 'https://kyc.example.com');
    expect(made?.startUrlOf(waiting)).toBe(apis.startUrlOf(waiting));
  });
});

describe('report', () => {
  it('has one column per documented field and no personal data', () => {
    const row = reportRow(passed);
    expect(Object.keys(row)).toEqual([...REPORT_COLUMNS]);
    expect(row).toEqual({
      TicketId: 't-1',
      Biz: 'RPMin',
      state: 'passed',
      statusCode: 1,
      similarityScore: 93.5,
      trustedScore: 97,
      authorityComparisonScore: 91.25,
      auditConclusions: 'ok',
      emulated: false,
      errorCode: '',
      errorMessage: '',
      createdAt: '2025-03-01T08:00:00.000Z',
      finishedAt: '2025-03-01T08:00:02.000Z',
      family: 'legacy',
      outerOrderNo: '',
      subCode: '',
      certifyId: '',
    });
  });

  it("writes a financial ticket's family, OuterOrderNo, SubCode and CertifyId, and never a start link", async () => {
    const row = reportRow(financialPassed);
    expect(row).toMatchObject({
      TicketId: 'fin/server#1',
      Biz: 'FaceServer',
      family: 'financial',
      outerOrderNo: outerOrderNoOf('fin/server#1'),
      statusCode: 1,
      subCode: '200',
      certifyId: CERTIFY_ID,
    });
    const rows = [row, reportRow(waiting), reportRow(passed)];
    const encode = async (format: 'csv' | 'jsonl') =>
      (await Readable.from(rows).pipe(reportEncoder(format)).toArray()).join('');
    const csvText = await encode('csv');
    const csv = parse<Record<string, string>>(csvText, { columns: true });
    expect(Object.keys(csv[0] ?? {})).toEqual([...REPORT_COLUMNS]);
    expect(csv.map((r) => [r.TicketId, r.family, r.outerOrderNo, r.subCode, r.certifyId])).toEqual([
      ['fin/server#1', 'financial', outerOrderNoOf('fin/server#1'), '200', CERTIFY_ID],
      ['finH5x1', 'financial', 'finH5x1', '', ''],
      ['t-1', 'legacy', '', '', ''],
    ]);
    const jsonl = await encode('jsonl');
    expect(JSON.parse(jsonl.split('\n')[1] ?? '')).toMatchObject({
      family: 'financial',
      outerOrderNo: 'finH5x1',
      state: 'queued',
    });
    // the waiting ID_PRO ticket has a start link: it is in no column and in neither format
    for (const text of [csvText, jsonl]) {
      expect(text).not.toContain('/v1/start/');
      expect(text).not.toMatch(/startUrl/i);
    }
  });

  const queued: StoredTicket = {
    ticketId: 'q-1',
    biz: 'RPMin',
    flow: 'server',
    state: 'queued',
    version: 0,
    attempts: 0,
    createdAt: T0,
    updatedAt: T0,
    payloadHash: 'h',
  };

  it('writes the emulated column as true or false: in CSV as words, in JSONL as booleans', async () => {
    const rows = [
      reportRow({ ...passed, ticketId: 'e-1', verdict: { statusCode: 1, emulated: true } }),
      reportRow(passed),
      reportRow(queued),
    ];
    expect(rows.map((r) => r.emulated)).toEqual([true, false, false]);
    const encode = async (format: 'csv' | 'jsonl') =>
      (await Readable.from(rows).pipe(reportEncoder(format)).toArray()).join('');
    const csv = parse<Record<string, string>>(await encode('csv'), { columns: true });
    expect(csv.map((r) => r.emulated)).toEqual(['true', 'false', 'false']);
    const jsonl = (await encode('jsonl'))
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { emulated: unknown }).emulated);
    expect(jsonl).toEqual([true, false, false]);
  });

  it('writes CSV, JSONL or a workbook by the extension, else a usage error', () => {
    expect(reportFormatOf('r.csv')).toBe('csv');
    expect(reportFormatOf('r.jsonl')).toBe('jsonl');
    expect(reportFormatOf('r.XLSX')).toBe('xlsx');
    expect(() => reportFormatOf('r.xls')).toThrow(CliError);
  });
});

describe('retry and cancel', () => {
  it.each([
    [undefined, {}, 'give a TicketId, or --failed'],
    ['t', { failed: true }, 'not both'],
    ['t', { batch: 'b' }, '--batch goes with --failed'],
  ] as const)('refuses %s %j as a usage error', (id, options, message) => {
    expect(() => checkRetryArguments(id, options)).toThrow(message);
  });

  it('accepts a TicketId, or --failed with or without --batch', () => {
    expect(() => checkRetryArguments('t', {})).not.toThrow();
    expect(() => checkRetryArguments(undefined, { failed: true, batch: 'b' })).not.toThrow();
  });

  it('maps an unknown ticket to 5 and a wrong state to 6', () => {
    const unknown = operationError(new TicketNotFoundError('t-9'), 'cancel') as CliError;
    expect(unknown.exitCode).toBe(ExitCode.unknown);
    expect(unknown.message).toBe('no ticket "t-9"');
    const wrong = operationError(
      new IllegalTransitionError('passed', 'retried'),
      'retry',
    ) as CliError;
    expect(wrong.exitCode).toBe(ExitCode.illegalState);
    expect(wrong.message).toBe(
      'the ticket is passed: only a failed or expired ticket can be retried',
    );
    const other = new Error('boom');
    expect(operationError(other, 'retry')).toBe(other);
  });
});
