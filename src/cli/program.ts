/**
 * The command line: commander's definitions of every command with its help and examples, and
 * {@link runCli}, which runs one and turns its outcome into an exit code (see `exit-codes.ts`).
 *
 * `--version` prints the package's version. Every command whose output a script reads takes
 * `--json` (one JSON document on stdout). Help titles are bold where colour is wanted (see
 * `output.ts`); commander strips its styles elsewhere.
 */
import { createRequire } from 'node:module';
import { Command, CommanderError, Option } from 'commander';
import { API_TOKEN_ENV, type ApiOptions } from './api-target.js';
import type { CliIo } from './cli-context.js';
import type { EnqueueOptions } from './enqueue-command.js';
import { CliError, EXIT_CODES_HELP, ExitCode } from './exit-codes.js';
import { COLOURED, colourWanted } from './output.js';
import type { ReportOptions } from './report-command.js';
import type { RetryOptions } from './retry-command.js';
import type { WebhooksOptions } from './webhooks-command.js';

const NAME = 'cloudauth-orchestrator';

/**
 * The package's version, from its package.json (found by the package's own name, which its
 * `exports` allow: the same from src/ under tsx, from dist/, and installed).
 */
export function packageVersion(): string {
  const pkg = createRequire(import.meta.url)(`${NAME}/package.json`) as { version: string };
  return pkg.version;
}

const JSON_HELP = 'print one JSON document on stdout (for scripts)';

/** `--format csv|jsonl|xlsx`: the format of a file (or stream) whose name does not tell it. */
function formatOption(what: string): Option {
  return new Option('--format <format>', what).choices(['csv', 'jsonl', 'xlsx']);
}

const API_HELP = `
--api <URL> talks to the HTTP API of a deployment (its base URL) instead of Redis, and needs no
other configuration: no REDIS_URL, no ENCRYPTION_KEY. The bearer token (one of the API's
API_TOKENS) is read from --token-file, else from ${API_TOKEN_ENV}; it is never printed. A token
the API refuses exits 2; an API that does not answer, or answers that it is unavailable, exits 1.
Connections go straight to the URL (no proxy, no redirect followed).`;

const ENQUEUE_HELP = `
Input:
  CSV with a header row: TicketId,Name,IdentificationNumber,FacePic,IdCardFrontPic,IdCardBackPic
  and optionally callbackUrl, FaceRetainedPic, IDPic, and Biz (overrides --biz per row).
  JSONL: one ticket request per line, as the HTTP API takes it:
    {"TicketId":"t-1","Biz":"RPMin","Binding":{"Name":"…","IdentificationNumber":"…","FacePic":"faces/t-1.jpg"}}
  An .xlsx workbook: a sheet (--sheet, default the first) whose first row is the CSV's header;
  lines in messages are the sheet's row numbers. Type the IdentificationNumber column as Text:
  an ID number Excel stored as a number (1.10101E+17) has lost its last digits and is refused.
  Encoding of a CSV or JSONL file: UTF-8 when it starts with a byte order mark or is valid UTF-8
  throughout, else GB18030 (GBK, what Excel saves on Chinese Windows); the plan says which, and
  --encoding utf-8|gb18030|gbk forces one. A name with characters that did not decode is an
  invalid row.
  Images: a local path (relative to the input file's directory), https:// URL, oss://bucket:path,
  or base64. --photos DIR or --photos photos.zip finds the local paths in that folder or ZIP
  archive instead (read in place, never unpacked); a path that is absolute or leads outside it
  (..) is refused. Invalid rows are listed in the plan and written to <file>.invalid.jsonl.
  On a terminal, enqueue asks before it enqueues (--yes does not); answering no enqueues
  nothing and exits as --dry-run does.
  The format is the file's extension (.csv, .jsonl or .ndjson, .xlsx) unless --format says it.
  <file> "-" reads standard input (--format, default csv), once, into memory (it is never
  written to disk); local image paths are then relative to the working directory, and invalid
  rows go to ./stdin.invalid.jsonl. Standard input holds the rows, so enqueue cannot ask: give
  --yes (or --dry-run) when it is a terminal.
  --json prints the plan, what was enqueued and (--wait) the final counts as one JSON document.

With --api, the rows go to the HTTP API (POST /v1/tickets/batch) instead of Redis: the CLI
  checks what it can without the API's configuration (the API checks each row's Biz and the
  fields it requires, and its refusals are listed as invalid rows), reads each local image file
  and sends its bytes, in requests kept under the API's body limit. If the API stops taking
  tickets (its store or staging store full or unavailable, no answer, a refused token), enqueue
  stops, lists the rows not accepted (all in <file>.not-accepted.jsonl) and exits 7 (full), 1 or
  2 (token); the rows accepted stay accepted, and running the same command again skips them.
  --batch over --api: 1–64 letters, digits, ".", "_", "-".
${API_HELP}

Examples:
  $ ${NAME} enqueue applicants.csv --biz RPMin --dry-run
  $ ${NAME} enqueue applicants.xlsx --sheet 三月 --photos photos.zip --biz RPMin --dry-run
  $ ${NAME} enqueue applicants.csv --encoding gbk --biz RPMin --dry-run
  $ ${NAME} enqueue applicants.csv --biz RPMin --batch march-intake --yes --wait
  $ ${NAME} enqueue tickets.jsonl --biz RPH5BioOnly
  $ produce-rows | ${NAME} enqueue - --format jsonl --biz RPMin --yes --json
  $ ${NAME} enqueue applicants.csv --biz RPMin --yes --api https://10.0.0.5:8080 --token-file api.token

${EXIT_CODES_HELP}`;

/** The long-running process roles (`src/roles/`). */
const ROLE_COMMANDS = [
  ['api', 'serve the HTTP API (probes and /metrics on API_PORT)'],
  ['worker', 'run ticket and webhook workers (probes and /metrics on WORKER_OPS_PORT)'],
  ['emulator', 'run the Cloudauth and OSS emulators (probes and /metrics on their port)'],
  [
    'all',
    'everything in one process (npm start): API, workers, and on embedded defaults Redis and the emulators',
  ],
] as const;

const ROLE_HELP = `
Configured from the environment (see docs/reference/configuration.md); each role checks only
the settings it uses. /healthz answers while the process lives, /readyz when it can do its job
now (Redis answers, its workers run). SIGINT/SIGTERM stop it gracefully; a second one at once.

Exit codes of a role:
  0    stopped by SIGINT/SIGTERM after active work finished
  1    an uncaught error, or closing failed
  2    configuration error (the message names the settings)
  130  a second SIGINT (143: a second SIGTERM) while stopping
`;

function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${NAME} ${l}`).join('\n')}\n\n${EXIT_CODES_HELP}`;
}

/** Adds `--api` and `--token-file` to a command that can talk to the HTTP API. */
function withApiOptions(command: Command): Command {
  return command
    .option('--api <URL>', 'talk to the HTTP API at this base URL instead of Redis')
    .option(
      '--token-file <path>',
      `with --api: the file holding the bearer token (default: $${API_TOKEN_ENV})`,
    );
}

/** Builds the program; each action loads its command module and hands its exit code to `done`. */
export function buildProgram(io: CliIo, done: (code: ExitCode) => void): Command {
  const program = new Command(NAME)
    .description(
      'Identity-verification tickets for Alibaba Cloud Cloudauth: enqueue a file of applicants, ' +
        'follow, report, retry, cancel, erase; and run the process roles (api, worker, emulator, all). ' +
        'Configured from the environment.',
    )
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      getOutHasColors: () => colourWanted(io.stdout, io.env),
      getErrHasColors: () => colourWanted(io.stderr, io.env),
    })
    // commander strips the styles when the stream it writes to has no colours
    .configureHelp({ styleTitle: (title) => COLOURED.strong(title) })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', `\n${EXIT_CODES_HELP}`);

  withApiOptions(
    program
      .command('enqueue')
      .description(
        'check a CSV, JSONL or .xlsx file of tickets, print the plan, and enqueue the valid rows',
      )
      .argument('<file>', 'a .csv, .jsonl or .xlsx file, or - for standard input')
      .option('--biz <Biz>', 'Biz of the rows that name none (a CLOUDAUTH_BIZ scenario)')
      .option('--batch <id>', 'batch id (default: <file name>-<UTC time>)')
      .addOption(formatOption('the input format (default: by extension; csv for -)'))
      .addOption(
        new Option(
          '--encoding <encoding>',
          'CSV/JSONL encoding (default: UTF-8 if valid, else GB18030)',
        ).choices(['utf-8', 'gb18030', 'gbk']),
      )
      .option('--sheet <name>', 'the sheet of an .xlsx workbook (default: the first visible one)')
      .option('--photos <DIR|zip>', 'find the image paths in this folder or .zip archive')
      .option('--dry-run', 'print the plan, enqueue nothing')
      .option('--wait', 'then follow the batch until every ticket has ended')
      .option('--yes', 'do not ask for confirmation')
      .option('--json', JSON_HELP),
  )
    .addHelpText('after', ENQUEUE_HELP)
    .action(async (file: string, options: EnqueueOptions) => {
      io.batchStarting?.();
      const { enqueueCommand } = await import('./enqueue-command.js');
      done(await enqueueCommand(file, options, io));
    });

  withApiOptions(
    program
      .command('status')
      .description("a ticket's state, verdict, last error, masked applicant and history")
      .argument('<TicketId>')
      .option('--json', JSON_HELP),
  )
    .addHelpText(
      'after',
      API_HELP +
        examples(
          'status t-1001',
          'status t-1001 --json',
          'status t-1001 --api https://10.0.0.5:8080 --token-file api.token',
        ),
    )
    .action(async (ticketId: string, options: { json?: boolean } & ApiOptions) => {
      const { statusCommand } = await import('./status-command.js');
      done(await statusCommand(ticketId, options, io));
    });

  withApiOptions(
    program
      .command('report')
      .description('one row per ticket of a batch: outcome and scores, no personal data')
      .requiredOption('--batch <id>', 'the batch')
      .requiredOption(
        '--out <file>',
        'results.csv, results.jsonl or results.xlsx, or - for standard output',
      )
      .addOption(formatOption('the report format (default: by extension; csv for -)'))
      .option('--json', `${JSON_HELP}; with --out -, the rows as JSON lines`),
  )
    .addHelpText(
      'after',
      `${API_HELP}\nOver --api the rows come newest first (GET /v1/tickets?batch=…).\n` +
        '--out - writes the report to standard output (CSV, or JSON lines with --format jsonl or\n' +
        '--json) and nothing else there; the line saying how many were written goes to stderr.\n' +
        '--json with a file prints that line as a JSON document: {batch, tickets, out, format}.\n' +
        'results.xlsx (or --format xlsx) writes a workbook of one sheet: IDs as text, scores as\n' +
        "numbers; a text cell that would start a formula (= + - @) starts with ' instead, as in CSV.\n" +
        examples(
          'report --batch march-intake --out results.csv',
          'report --batch march-intake --out results.jsonl',
          'report --batch march-intake --out results.xlsx',
          'report --batch march-intake --out - --json | jq -r .TicketId',
          'report --batch march-intake --out results.csv --api https://10.0.0.5:8080',
        ),
    )
    .action(async (options: ReportOptions) => {
      io.batchStarting?.();
      const { reportCommand } = await import('./report-command.js');
      done(await reportCommand(options, io));
    });

  withApiOptions(
    program
      .command('retry')
      .description('send a failed or expired ticket (or every failed one) back to the queue')
      .argument('[TicketId]')
      .option('--failed', 'retry every failed ticket')
      .option('--batch <id>', 'with --failed: only those of this batch')
      .option('--json', JSON_HELP),
  )
    .addHelpText(
      'after',
      `${API_HELP}\nOver --api, --failed lists the failed tickets and retries them one by one.\n` +
        examples(
          'retry t-1001',
          'retry --failed --batch march-intake',
          'retry --failed',
          'retry --failed --batch march-intake --api https://10.0.0.5:8080',
        ),
    )
    .action(async (ticketId: string | undefined, options: RetryOptions) => {
      const { retryCommand } = await import('./retry-command.js');
      done(await retryCommand(ticketId, options, io));
    });

  withApiOptions(
    program
      .command('cancel')
      .description('cancel a ticket that has not ended')
      .argument('<TicketId>')
      .option('--json', JSON_HELP),
  )
    .addHelpText(
      'after',
      API_HELP + examples('cancel t-1001', 'cancel t-1001 --api https://10.0.0.5:8080'),
    )
    .action(async (ticketId: string, options: { json?: boolean } & ApiOptions) => {
      const { cancelCommand } = await import('./cancel-command.js');
      done(await cancelCommand(ticketId, io, options));
    });

  withApiOptions(
    program
      .command('erase')
      .description(
        "erase one applicant's personal data (name, ID number, photos) on request, whatever the state; a running ticket is cancelled first",
      )
      .argument('<TicketId>')
      .option('--json', JSON_HELP),
  )
    .addHelpText(
      'after',
      API_HELP + examples('erase t-1001', 'erase t-1001 --api https://10.0.0.5:8080'),
    )
    .action(async (ticketId: string, options: { json?: boolean } & ApiOptions) => {
      const { eraseCommand } = await import('./erase-command.js');
      done(await eraseCommand(ticketId, io, options));
    });

  const webhooks = program
    .command('webhooks')
    .description('dead-lettered webhook events: list them, send them again');
  webhooks
    .command('dead-letters')
    .description('list events whose delivery gave up')
    .option('--ticket <TicketId>', 'only those of this ticket')
    .option('--json', JSON_HELP)
    .addHelpText(
      'after',
      examples('webhooks dead-letters', 'webhooks dead-letters --ticket t-1001 --json'),
    )
    .action(async (options: WebhooksOptions) => {
      const { deadLettersCommand } = await import('./webhooks-command.js');
      done(await deadLettersCommand(options, io));
    });
  webhooks
    .command('replay')
    .description('send dead-lettered events again (after the receiver is fixed)')
    .option('--ticket <TicketId>', 'only those of this ticket')
    .option('--json', JSON_HELP)
    .addHelpText('after', examples('webhooks replay', 'webhooks replay --ticket t-1001'))
    .action(async (options: WebhooksOptions) => {
      const { replayCommand } = await import('./webhooks-command.js');
      done(await replayCommand(options, io));
    });

  for (const [role, description] of ROLE_COMMANDS) {
    program
      .command(role)
      .description(description)
      .addHelpText('after', ROLE_HELP)
      .action(async () => {
        const { runRole } = await import('../roles/run-role.js');
        await runRole(role);
        // serves until SIGINT/SIGTERM, whose handler exits the process
        await new Promise<never>(() => undefined);
      });
  }

  return program;
}

/** Runs the command line `argv` (as `process.argv`); answers the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let code: ExitCode = ExitCode.ok;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv]);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    if (err instanceof CliError) {
      io.stderr.write(`error: ${err.message}\n`);
      return err.exitCode;
    }
    io.stderr.write(`unexpected error: ${err instanceof Error ? err.message : String(err)}\n`);
    return ExitCode.unexpected;
  }
}
