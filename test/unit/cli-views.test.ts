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
import { formatStatus, statusView } from '../../src/cli/status-command.js';
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
    });
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

  it('writes CSV or JSONL by the extension, else a usage error', () => {
    expect(reportFormatOf('r.csv')).toBe('csv');
    expect(reportFormatOf('r.jsonl')).toBe('jsonl');
    expect(() => reportFormatOf('r.xlsx')).toThrow(CliError);
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
