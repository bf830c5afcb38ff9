/**
 * The package as a user gets it: `npm pack` of the project, a fresh project outside the repository
 * that installs the tarball, TypeScript sources that import it by name, and the compiled consumer
 * run under plain node. The consumer's sources are text here, not files of the repository: they
 * import `cloudauth-orchestrator`, which only resolves inside the temporary project.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from '../../testkit/processes.js';

/** What a child process ended with. */
export interface ChildRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `command` to its end and answers its exit code and output: a non-zero exit or a timeout is
 * an answer for the caller to assert on; only a command that cannot start throws. NODE_OPTIONS is
 * emptied so that nothing of this process (a loader such as tsx) reaches the child.
 */
export function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: Readonly<Record<string, string>>; timeoutMs?: number },
): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      [...args],
      {
        cwd: options.cwd,
        env: { ...process.env, NODE_OPTIONS: '', ...options.env },
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (err === null) {
          resolve({ code: 0, stdout, stderr });
          return;
        }
        const code = err.code;
        // a string code is a failure to start (ENOENT…); a number or null is how the child ended
        if (typeof code === 'string') {
          reject(new Error(`${command} could not start (${code})`, { cause: err }));
          return;
        }
        const killed = err.killed === true ? `\n(killed with ${err.signal ?? '?'})` : '';
        resolve({ code: code ?? null, stdout, stderr: stderr + killed });
      },
    );
  });
}

/** One file of `npm pack --json`. */
interface PackedFile {
  path: string;
}

/** The tarball `npm pack` wrote and the files it holds. */
export interface PackedTarball {
  /** Absolute path of the `.tgz`. */
  tarball: string;
  /** Paths inside the package, as `npm pack --json` lists them (no `package/` prefix). */
  files: string[];
}

/**
 * `npm pack` of the project into `destination`, without lifecycle scripts: the tests' global
 * setup has built `dist/` already, and a `prepack` that builds would race the other test files.
 */
export async function packProject(destination: string): Promise<PackedTarball> {
  const result = await run(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', destination],
    { cwd: REPO_ROOT },
  );
  if (result.code !== 0) throw new Error(`npm pack failed (${result.code}): ${result.stderr}`);
  const [packed] = JSON.parse(result.stdout) as { filename: string; files: PackedFile[] }[];
  if (packed === undefined) throw new Error('npm pack listed no package');
  return { tarball: join(destination, packed.filename), files: packed.files.map((f) => f.path) };
}

/** The consumer project's manifest: the tarball, and what a user adds beside it. */
function consumerManifest(tarball: string, typesNodeVersion: string): string {
  return JSON.stringify(
    {
      name: 'package-consumer',
      private: true,
      type: 'module',
      dependencies: {
        'cloudauth-orchestrator': `file:${tarball}`,
        // the user's own connection to the orchestrator's Redis (the producer takes one)
        ioredis: '^6.0.0',
      },
      devDependencies: { '@types/node': typesNodeVersion },
    },
    null,
    2,
  );
}

/** Compiler options of a user's strict NodeNext project; library declarations are checked too. */
const COMPILER_OPTIONS = {
  target: 'ES2022',
  lib: ['ES2023'],
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  types: ['node'],
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  verbatimModuleSyntax: true,
  skipLibCheck: false,
  outDir: 'out',
  rootDir: '.',
};

/**
 * The consumer, as a business system would write it against the guides. It imports every runtime
 * export and several types, then: checks each export is defined; starts a webhook receiver on
 * 127.0.0.1; enqueues one server-flow ticket with `createTicketProducer` (the face photo read from
 * FACE_FILE, as base64); waits for the terminal delivery; checks it and a tampered copy with
 * `verifyWebhook`; asks the Cloudauth endpoint for the ticket's status with `CloudauthClient`; and
 * prints what it saw as one JSON line.
 */
const CONSUMER_SOURCE = `
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as pkg from 'cloudauth-orchestrator';
import {
  CLOUDAUTH_API_VERSION,
  CloudauthClient,
  ERROR_CODES,
  OrchestratorError,
  PersonalDataErasedError,
  ProviderError,
  SIGNATURE_HEADER,
  StagingUnavailableError,
  StoreFullError,
  StoreUnavailableError,
  ThrottledError,
  TicketRejectedError,
  TransportError,
  ValidationError,
  WEBHOOK_EVENT_TYPES,
  connectRedis,
  createApiClient,
  createTicketProducer,
  isRetryable,
  signWebhook,
  ticketRequestSchema,
  verifyWebhook,
  type ApiSchemas,
  type TypedApiClient,
  type CallbackPolicy,
  type RedisClient,
  type RedisTopology,
  type ProducerStaging,
  type CloudauthAction,
  type CloudauthClientDeps,
  type EnqueueResult,
  type ErrorCode,
  type Fault,
  type GetStatusResult,
  type ImageLimits,
  type TicketProducer,
  type TicketProducerOptions,
  type TicketRequest,
  type TicketState,
  type VerifyStatusCode,
  type VerifyWebhookInput,
  type WebhookEvent,
  type WebhookEventType,
} from 'cloudauth-orchestrator';

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(name + ' is not set');
  return value;
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('no ' + what + ' after ' + timeoutMs + ' ms');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const named = {
  CLOUDAUTH_API_VERSION,
  CloudauthClient,
  ERROR_CODES,
  OrchestratorError,
  PersonalDataErasedError,
  ProviderError,
  SIGNATURE_HEADER,
  StagingUnavailableError,
  StoreFullError,
  StoreUnavailableError,
  ThrottledError,
  TicketRejectedError,
  TransportError,
  ValidationError,
  WEBHOOK_EVENT_TYPES,
  connectRedis,
  createApiClient,
  createTicketProducer,
  isRetryable,
  signWebhook,
  ticketRequestSchema,
  verifyWebhook,
};
// the typed client of the HTTP API builds without a call (no API runs here); its types resolve
const apiClient: TypedApiClient = createApiClient({ baseUrl: 'http://127.0.0.1:9', token: 't' });
const problemType: ApiSchemas['Problem']['type'] | undefined = undefined;
void [apiClient, problemType];
const kinds: Record<string, string> = {};
for (const [name, value] of Object.entries(named)) kinds[name] = typeof value;
const namespaceKeys = Object.keys(pkg).sort();

interface Delivery {
  body: string;
  header: string | undefined;
  event: WebhookEvent;
}
const deliveries: Delivery[] = [];
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const header = req.headers[SIGNATURE_HEADER];
    deliveries.push({
      body,
      header: typeof header === 'string' ? header : undefined,
      event: JSON.parse(body) as WebhookEvent,
    });
    res.writeHead(204).end();
  });
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
const receiverPort = (receiver.address() as AddressInfo).port;

const secret = env('WEBHOOK_SECRET');
const ticketId = env('TICKET_ID');
// the package's own factory, as the orchestrator builds its connections (one node here)
const topology: RedisTopology = { kind: 'single', url: env('REDIS_URL') };
const redis: RedisClient = connectRedis(topology, 'queue');
const callbackPolicy: CallbackPolicy = { allowedHosts: ['127.0.0.1'] };
const imageLimits: ImageLimits = { maxPixels: 25_000_000, maxSidePx: 16_384 };
// the workers' STAGING_DIR: the photo's bytes wait there, encrypted, and never in Redis
const staging: ProducerStaging = { dir: env('STAGING_DIR') };
const options: TicketProducerOptions = {
  redis,
  prefix: env('REDIS_PREFIX'),
  encryptionKey: env('ENCRYPTION_KEY'),
  biz: { RPMin: 'RPMin' },
  callbackPolicy,
  imageLimits,
  staging,
};
const producer: TicketProducer = createTicketProducer(options);
const request: TicketRequest = {
  TicketId: ticketId,
  Biz: 'RPMin',
  Binding: {
    Name: '李三',
    IdentificationNumber: '11010519491231002X',
    FacePic: readFileSync(env('FACE_FILE')).toString('base64'),
  },
  callbackUrl: 'http://127.0.0.1:' + receiverPort + '/hooks/cloudauth',
};
const schemaAccepts = ticketRequestSchema.safeParse(request).success;
const enqueued: EnqueueResult = await producer.enqueue(request);
const acceptedState: TicketState = enqueued.ticket.state;

let rejection: { name: string; code: ErrorCode; fields: string[]; retryable: boolean } | undefined;
try {
  await producer.enqueue({ ...request, TicketId: ticketId + '-bad', Binding: { ...request.Binding, IdentificationNumber: '110105194912310021' } });
} catch (err) {
  if (err instanceof TicketRejectedError && err instanceof ValidationError && err instanceof OrchestratorError) {
    rejection = { name: err.name, code: err.code, fields: err.problems.map((p) => p.field), retryable: isRetryable(err) };
  } else throw err;
}

const terminal: readonly WebhookEventType[] = WEBHOOK_EVENT_TYPES.filter((t) => t !== 'ticket.token_issued');
const delivery = await until(
  'terminal webhook',
  () => deliveries.find((d) => terminal.includes(d.event.type)),
  90_000,
);
const input: VerifyWebhookInput = { secret, body: delivery.body, header: delivery.header };
const verified = verifyWebhook(input);
const tampered = verifyWebhook({ ...input, body: delivery.body.replace('"passed"', '"not_passed"') });
const wrongSecret = verifyWebhook({ ...input, secret: secret + '-other' });
const now = Math.floor(Date.now() / 1000);
const signedHere = verifyWebhook({ secret, body: '{}', header: signWebhook(secret, '{}', now), now });

const deps: CloudauthClientDeps = {
  endpoint: env('CLOUDAUTH_ENDPOINT'),
  accessKeyId: env('CLOUDAUTH_ACCESS_KEY_ID'),
  accessKeySecret: env('CLOUDAUTH_ACCESS_KEY_SECRET'),
  timeoutMs: 10_000,
};
const client = new CloudauthClient(deps);
const action: CloudauthAction = 'GetStatus';
const status: GetStatusResult = await client.getStatus({ biz: 'RPMin', ticketId });
const statusCode: VerifyStatusCode = status.statusCode;
client.close();

const storeFull = new StoreFullError({ retryAfterMs: 1000 });
const throttled = new ThrottledError('PROVIDER_THROTTLED', 'throttled', { retryAfterMs: 500 });
const transport = new TransportError('PROVIDER_TIMEOUT', 'timed out');
const fault: Fault = ERROR_CODES.STORE_FULL.fault;
const errors = {
  storeFull: { code: storeFull.code, retryable: isRetryable(storeFull), retryAfterMs: storeFull.retryAfterMs },
  throttledIsProvider: throttled instanceof ProviderError && throttled instanceof OrchestratorError,
  transportRetryable: isRetryable(transport),
  plainErrorRetryable: isRetryable(new Error('x')),
  storeFullFault: fault,
};

await producer.close();
await redis.quit();
await new Promise<void>((r) => receiver.close(() => r()));

process.stdout.write(
  JSON.stringify({
    namespaceKeys,
    kinds,
    apiVersion: CLOUDAUTH_API_VERSION,
    schemaAccepts,
    created: enqueued.created,
    acceptedState,
    rejection,
    event: delivery.event,
    deliveries: deliveries.length,
    verified,
    tampered,
    wrongSecret,
    signedHere,
    action,
    statusCode,
    errors,
  }) + '\\n',
);
`;

/**
 * Calls that must not type-check, one per line ending in `// wrong`: each proves a declaration is
 * a real type (an `any` from an unresolved import would accept them all).
 */
const WRONG_SOURCE = `
import { Redis } from 'ioredis';
import {
  CloudauthClient,
  ERROR_CODES,
  connectRedis,
  createApiClient,
  createTicketProducer,
  verifyWebhook,
  type ErrorCode,
  type TicketState,
  type VerifyStatusCode,
  type WebhookEventType,
} from 'cloudauth-orchestrator';

const redis = new Redis();
connectRedis({ kind: 'cluster', url: 'redis://x' }, 'queue'); // wrong
createTicketProducer({}); // wrong
createTicketProducer({ redis, encryptionKey: 'k', biz: { kyc: 'RPNoSuchScheme' } }); // wrong
const producer = createTicketProducer({ redis, encryptionKey: 'k', biz: { kyc: 'RPMin' } });
await producer.enqueue({ TicketId: 't', Biz: 'kyc', Binding: { Nmae: 'x' } }); // wrong
await producer.enqueue({ TicketId: 7, Biz: 'kyc' }); // wrong
const result = await producer.enqueue({ TicketId: 't', Biz: 'kyc' });
if (result.ticket.state === 'finished') process.exit(1); // wrong
verifyWebhook({ secret: 'x', body: {}, header: undefined }); // wrong
new CloudauthClient({ endpoint: 'http://cloudauth.example.test' }); // wrong
const state: TicketState = 'done'; // wrong
const code: ErrorCode = 'NOT_A_CODE'; // wrong
const type: WebhookEventType = 'ticket.done'; // wrong
const verdict: VerifyStatusCode = 3; // wrong
const retryable: number = ERROR_CODES.STORE_FULL.retryable; // wrong
createApiClient({ token: 't' }); // wrong
void createApiClient({ baseUrl: 'http://x' }).GET('/v1/no-such-route', {}); // wrong
void createApiClient({ baseUrl: 'http://x' }).POST('/v1/tickets', { body: { TicketId: 1 } }); // wrong
console.log(state, code, type, verdict, retryable);
`;

/** 1-based numbers of the lines of {@link WRONG_SOURCE} that must fail type-check. */
export const WRONG_LINES: readonly number[] = WRONG_SOURCE.split('\n').flatMap((line, i) =>
  line.endsWith('// wrong') ? [i + 1] : [],
);

/** Writes the consumer project (manifest, tsconfigs, sources) into `dir`. */
export async function writeConsumerProject(
  dir: string,
  tarball: string,
  typesNodeVersion: string,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), consumerManifest(tarball, typesNodeVersion));
  await writeFile(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: COMPILER_OPTIONS, files: ['consumer.ts'] }, null, 2),
  );
  await writeFile(
    join(dir, 'tsconfig.wrong.json'),
    JSON.stringify(
      { compilerOptions: { ...COMPILER_OPTIONS, noEmit: true }, files: ['wrong.ts'] },
      null,
      2,
    ),
  );
  await writeFile(join(dir, 'consumer.ts'), CONSUMER_SOURCE);
  await writeFile(join(dir, 'wrong.ts'), WRONG_SOURCE);
}

/** `file(line,col): error TSxxxx` lines of tsc's plain output, as line numbers of `file`. */
export function errorLines(tscOutput: string, file: string): number[] {
  const pattern = new RegExp(`^${file.replace('.', '\\.')}\\((\\d+),\\d+\\): error TS\\d+`, 'gm');
  return [...tscOutput.matchAll(pattern)].map((m) => Number(m[1]));
}
