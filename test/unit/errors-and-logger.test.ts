import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Lease } from '../../src/domain/ticket.js';
import {
  ERROR_CODES,
  IllegalTransitionError,
  OrchestratorError,
  StoreFullError,
  StoreUnavailableError,
  ThrottledError,
  TicketNotFoundError,
  ValidationError,
  isRetryable,
} from '../../src/errors.js';
import { chooseLogFormat, createLogger } from '../../src/logger.js';
import { waitUntil } from '../../testkit/waiting.js';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('the error registry', () => {
  const src = new URL('../../src', import.meta.url).pathname;
  const sources = sourceFiles(src)
    .filter((f) => !f.endsWith('errors.ts'))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  // the page's hand-written part (Cloudauth's answers mapped to codes), the generated registry cut out
  const errorsPage = readFileSync(
    new URL('../../docs/reference/errors.md', import.meta.url),
    'utf8',
  ).replace(/<!-- error-table:start -->[\s\S]*<!-- error-table:end -->/, '');

  /** How a code is raised: its class where the class fixes the code, else the quoted code. */
  const marker: Partial<Record<keyof typeof ERROR_CODES, string>> = {
    CONFIG_INVALID: 'new ConfigError(',
    VALIDATION_FAILED: 'new ValidationError(',
    ILLEGAL_TRANSITION: 'new IllegalTransitionError(',
    STORE_UNAVAILABLE: 'new StoreUnavailableError(',
    TICKET_NOT_FOUND: 'new TicketNotFoundError(',
    STAGED_OBJECT_MISSING: 'new StagedObjectMissingError(',
    STAGED_OBJECT_UNREADABLE: 'new StagedObjectUnreadableError(',
  };

  it.each(Object.keys(ERROR_CODES) as (keyof typeof ERROR_CODES)[])(
    '%s is documented and raised somewhere',
    (code) => {
      expect(ERROR_CODES[code].doc.length).toBeGreaterThan(10);
      expect(sources).toContain(marker[code] ?? `'${code}'`);
      if (code.startsWith('PROVIDER_') || code === 'VERIFY_TOKEN_INVALID') {
        expect(errorsPage).toContain(code);
      }
    },
  );

  it('carries code, retryability, fault and a safe JSON form', () => {
    const err = new ValidationError('Binding.IdentificationNumber', 'check digit does not match');
    expect(err).toBeInstanceOf(OrchestratorError);
    expect(err.toJSON()).toEqual({
      name: 'ValidationError',
      code: 'VALIDATION_FAILED',
      message: 'Binding.IdentificationNumber: check digit does not match',
      retryable: false,
      fault: 'client',
    });
    expect(isRetryable(err)).toBe(false);
    expect(isRetryable(new OrchestratorError('PROVIDER_INTERNAL', 'x'))).toBe(true);
    expect(isRetryable(new Error('plain'))).toBe(false);
  });
});

describe('an OrchestratorError', () => {
  it("carries the provider's details, and shows them in its JSON form", () => {
    const cause = new Error('socket hang up');
    const err = new ThrottledError('PROVIDER_THROTTLED', 'throttled', {
      retryAfterMs: 2_000,
      providerCode: 'Throttling.User',
      requestId: 'req-7',
      httpStatus: 503,
      cause,
    });
    expect(err).toMatchObject({
      name: 'ThrottledError',
      retryAfterMs: 2_000,
      providerCode: 'Throttling.User',
      requestId: 'req-7',
      httpStatus: 503,
    });
    expect(err.cause).toBe(cause);
    expect(err.toJSON()).toStrictEqual({
      name: 'ThrottledError',
      code: 'PROVIDER_THROTTLED',
      message: 'throttled',
      retryable: true,
      fault: 'provider',
      retryAfterMs: 2_000,
      providerCode: 'Throttling.User',
      requestId: 'req-7',
      httpStatus: 503,
    });
  });

  it('leaves unknown details and the cause out altogether, not as undefined', () => {
    const err = new OrchestratorError('INTERNAL_ERROR', 'boom');
    expect(Object.keys(err.toJSON()).sort()).toEqual([
      'code',
      'fault',
      'message',
      'name',
      'retryable',
    ]);
    expect('cause' in err).toBe(false);
  });

  it('takes retryability from the registry unless told otherwise', () => {
    expect(new OrchestratorError('PROVIDER_INTERNAL', 'x').retryable).toBe(true);
    expect(new OrchestratorError('PROVIDER_INTERNAL', 'x', { retryable: false }).retryable).toBe(
      false,
    );
    expect(new OrchestratorError('VALIDATION_FAILED', 'x', { retryable: true }).retryable).toBe(
      true,
    );
  });

  it('an illegal transition names the state and the event, in its message and its JSON', () => {
    const err = new IllegalTransitionError('passed', 'token_issued');
    expect(err.message).toBe("illegal transition: state 'passed' does not accept 'token_issued'");
    expect(err.toJSON()).toStrictEqual({
      name: 'IllegalTransitionError',
      code: 'ILLEGAL_TRANSITION',
      message: err.message,
      retryable: false,
      fault: 'internal',
      from: 'passed',
      event: 'token_issued',
    });
  });

  it.each([
    ['StoreFullError', StoreFullError, 'STORE_FULL', 'out of memory'],
    ['StoreUnavailableError', StoreUnavailableError, 'STORE_UNAVAILABLE', 'unreachable'],
  ])(
    'a %s is retryable after its wait and keeps the Redis error as its cause',
    (name, Class, code, says) => {
      const cause = new Error('OOM command not allowed');
      const err = new Class({ retryAfterMs: 1_500, cause });
      expect(err).toMatchObject({
        name,
        code,
        retryable: true,
        fault: 'internal',
        retryAfterMs: 1_500,
      });
      expect(err.message).toContain(says);
      expect(err.cause).toBe(cause);
    },
  );

  it('a missing ticket keeps its TicketId in a field, never in the message', () => {
    const err = new TicketNotFoundError('caller-id-Ж42');
    expect(err).toMatchObject({ code: 'TICKET_NOT_FOUND', retryable: false, fault: 'client' });
    expect(err.ticketId).toBe('caller-id-Ж42');
    expect(err.message).not.toBe('');
    expect(err.message).not.toContain('caller-id');
  });
});

/** A debug logger writing into `lines`. */
function capturingLogger(lines: string[]) {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return createLogger({ level: 'debug' }, sink);
}

describe('the logger', () => {
  it('redacts secrets and personal data at any depth', () => {
    const lines: string[] = [];
    const logger = capturingLogger(lines);
    logger.info(
      {
        AccessKeySecret: 'sk-1',
        sts: { SecurityToken: 'CAIS-token', AccessKeySecret: 'sk-2' },
        request: { Binding: { Name: '李三', IdentificationNumber: '11010519491231002X' } },
        deep: { a: { b: { Name: '王五', signature: 'c2lnbmF0dXJl' } } },
        ticketId: 'kept',
      },
      'call',
    );
    const out = lines.join('');
    for (const secret of [
      'sk-1',
      'sk-2',
      'CAIS-token',
      '李三',
      '11010519491231002X',
      '王五',
      'c2lnbmF0dXJl',
    ]) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('kept');
    expect(out).toContain('[redacted]');
  });

  it("redacts a lease's own camelCase fields: the STS secret and token, the VerifyToken, the page URL", () => {
    const lease: Lease = {
      verifyToken: 'vt-0f1e2d3c4b5a',
      tokenExpiresAt: 1_760_000_000_000,
      sts: {
        accessKeyId: 'STS.kept-key-id',
        accessKeySecret: 'sts-secret-9a8b7c6d',
        securityToken: 'CAIS-sts-token-5e4f',
        endPoint: 'https://oss.example.test',
        bucketName: 'bucket',
        path: 'verify/abc/',
        expiresAt: 1_760_000_000_000,
      },
      pageUrl: 'https://h5.example.test/verify?token=vt-in-the-page-url',
      issuedAt: 1_759_999_000_000,
    };
    const lines: string[] = [];
    const logger = capturingLogger(lines);
    // the lease as a log line's object, as a field, inside a ticket, and its credential alone
    logger.info(lease, 'lease');
    logger.info({ lease }, 'field');
    logger.info({ ticket: { ticketId: 't-1', lease } }, 'ticket');
    logger.info({ sts: lease.sts }, 'credential');
    const out = lines.join('');
    expect(lines).toHaveLength(4);
    for (const secret of [
      'sts-secret-9a8b7c6d',
      'CAIS-sts-token-5e4f',
      'vt-0f1e2d3c4b5a',
      'vt-in-the-page-url',
    ]) {
      expect(out).not.toContain(secret);
    }
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged[3]).toMatchObject({
      sts: { accessKeyId: 'STS.kept-key-id', accessKeySecret: '[redacted]' },
    });
  });
});

describe('the log format', () => {
  it('is LOG_FORMAT when set; else pretty only on a terminal outside production', () => {
    const cases = [
      { setting: undefined, tty: true, production: false, format: 'pretty' },
      { setting: undefined, tty: false, production: false, format: 'json' },
      { setting: undefined, tty: true, production: true, format: 'json' },
      { setting: undefined, tty: false, production: true, format: 'json' },
      { setting: 'pretty', tty: false, production: true, format: 'pretty' },
      { setting: 'json', tty: true, production: false, format: 'json' },
    ] as const;
    for (const { format, ...choice } of cases) {
      expect(chooseLogFormat(choice), JSON.stringify(choice)).toBe(format);
    }
  });

  it('pretty writes text for a person, with the same redaction', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger({ level: 'info', name: 'pretty-test', format: 'pretty' }, sink);
    logger.warn({ ticketId: 't-9', Binding: { Name: '李三' }, token: 'tok-secret' }, 'a warning');
    await waitUntil('the pretty line', () => lines.join('').includes('a warning'), {
      timeoutMs: 5000,
    });
    const out = lines.join('');
    expect(out).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN \(pretty-test\): a warning\n/);
    expect(out).toContain('ticketId: "t-9"');
    expect(out).not.toMatch(/^\{/);
    for (const secret of ['李三', 'tok-secret']) expect(out).not.toContain(secret);
    expect(out).toContain('[redacted]');
  });
});
