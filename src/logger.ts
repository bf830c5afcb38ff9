/**
 * pino, with secrets and personal data redacted from the first day. Redaction is a safety net:
 * code never logs these fields on purpose, and provider errors are rebuilt without their signed
 * URLs before they are logged (see `src/adapters/cloudauth/client.ts`).
 */
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

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

export interface LoggerSettings {
  level: LoggerOptions['level'];
  /** Service name in every line. */
  name?: string;
}

/** Builds the process logger; `destination` is for tests that capture output. */
export function createLogger(settings: LoggerSettings, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    name: settings.name ?? 'cloudauth-orchestrator',
    redact: { paths: redactPaths(), censor: '[redacted]' },
    serializers: { err: pino.stdSerializers.err },
  };
  return destination ? pino(options, destination) : pino(options);
}
