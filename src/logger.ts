/**
 * pino, with secrets and personal data redacted from the first day. Redaction is a safety net:
 * code never logs these fields on purpose, and provider errors are rebuilt without their signed
 * URLs before they are logged (see `src/adapters/cloudauth/client.ts`).
 *
 * Lines are JSON (one object a line, for collectors), or human-readable through pino-pretty for
 * a person at a terminal: {@link chooseLogFormat} picks pretty only when stdout is a terminal and
 * the mode is not production, unless `LOG_FORMAT` says which. pino-pretty formats the line pino
 * has already serialised and redacted, so the redaction holds in both.
 */
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import type { PrettyOptions, PrettyStream } from 'pino-pretty';

export type { Logger } from 'pino';

/** Field names whose values never reach a log line, at any depth up to four. */
export const REDACTED_KEYS = [
  // secrets
  'AccessKeySecret',
  'accessKeySecret',
  'secret',
  'Secret',
  'SecurityToken',
  'securityToken',
  'stsToken',
  'StsToken',
  'Token',
  'token',
  'VerifyToken',
  'verifyToken',
  'Signature',
  'signature',
  'authorization',
  'Authorization',
  'password',
  'sentinelPassword',
  // an ioredis error's `command.args` (AUTH and HELLO carry the password; others a ticket's keys)
  'args',
  'encryptionKey',
  'url',
  'signedUrl',
  // the H5 page URL of a lease or a token_issued event carries the VerifyToken (a bearer link)
  'pageUrl',
  // personal data
  'Binding',
  'binding',
  'Name',
  'holderName',
  'IdentificationNumber',
  'identificationNumber',
  'idNumber',
  'Address',
  'FacePic',
  'IdCardFrontPic',
  'IdCardBackPic',
  'FaceRetainedPic',
  'IDPic',
  'Material',
  'materials',
  'UserData',
] as const;

function redactPaths(): string[] {
  const paths: string[] = [];
  for (const k of REDACTED_KEYS) {
    paths.push(k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`);
  }
  return paths;
}

/** How log lines are written: JSON objects, or pino-pretty's text for a person. */
export type LogFormat = 'json' | 'pretty';

/**
 * The format of a process's logs: `LOG_FORMAT` when set; else pretty when stdout is a terminal
 * (a person runs it) and the mode is not production, JSON otherwise (a collector reads it, and a
 * production process is never pretty unless asked: a terminal attached by chance must not change
 * what its collector receives). Pure.
 */
export function chooseLogFormat(choice: {
  /** `LOG_FORMAT`; undefined when unset. */
  setting: LogFormat | undefined;
  /** Whether stdout is a terminal. */
  tty: boolean;
  production: boolean;
}): LogFormat {
  if (choice.setting !== undefined) return choice.setting;
  return choice.tty && !choice.production ? 'pretty' : 'json';
}

export interface LoggerSettings {
  level: LoggerOptions['level'];
  /** Service name in every line. */
  name?: string;
  /** Default `json`; see {@link chooseLogFormat}. */
  format?: LogFormat;
}

/**
 * pino-pretty as a stream in this thread (no transport worker), writing synchronously to
 * `destination` (default stdout): a person reads these lines as they come, and none is lost when
 * the process exits. On stdout, colours follow pino-pretty's own check (a terminal, `NO_COLOR`,
 * `FORCE_COLOR`); another destination (a test's capture) gets none.
 */
function prettyDestination(destination?: DestinationStream): DestinationStream {
  // loaded only when asked for: a JSON process (production) never loads it
  const prettyStream = createRequire(import.meta.url)('pino-pretty') as (
    options: PrettyOptions,
  ) => PrettyStream;
  return prettyStream({
    destination: destination ?? 1,
    sync: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    ...(destination === undefined ? {} : { colorize: false }),
  });
}

/**
 * Builds the process logger, writing to stdout or to `destination` (tests that capture output,
 * the CLI's stderr).
 */
export function createLogger(settings: LoggerSettings, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    name: settings.name ?? 'cloudauth-orchestrator',
    redact: { paths: redactPaths(), censor: '[redacted]' },
    serializers: { err: pino.stdSerializers.err },
  };
  if (settings.format === 'pretty') return pino(options, prettyDestination(destination));
  return destination ? pino(options, destination) : pino(options);
}
