/**
 * The command line: commander's definitions of every command with its help and examples, and
 * {@link runCli}, which runs one and turns its outcome into an exit code (see `exit-codes.ts`).
 */
import { Command, CommanderError } from 'commander';
import type { CliIo } from './cli-context.js';
import type { EnqueueOptions } from './enqueue-command.js';
import { CliError, EXIT_CODES_HELP, ExitCode } from './exit-codes.js';
import type { RetryOptions } from './retry-command.js';

const NAME = 'cloudauth-orchestrator';

const ENQUEUE_HELP = `
Input:
  CSV with a header row: TicketId,Name,IdentificationNumber,FacePic,IdCardFrontPic,IdCardBackPic
  and optionally callbackUrl, FaceRetainedPic, IDPic, and Biz (overrides --biz per row).
  JSONL: one ticket request per line, as the HTTP API takes it:
    {"TicketId":"t-1","Biz":"RPMin","Binding":{"Name":"…","IdentificationNumber":"…","FacePic":"faces/t-1.jpg"}}
  Images: a local path (relative to the input file's directory), https:// URL, oss://bucket:path,
  or base64. Invalid rows are listed in the plan and written to <file>.invalid.jsonl.
  On a terminal, enqueue asks before it enqueues (--yes does not); answering no enqueues
  nothing and exits as --dry-run does.

Examples:
  $ ${NAME} enqueue applicants.csv --biz RPMin --dry-run
  $ ${NAME} enqueue applicants.csv --biz RPMin --batch march-intake --yes --wait
  $ ${NAME} enqueue tickets.jsonl --biz RPH5BioOnly

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
Configured from the environment (see the README's configuration table); each role checks only
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

/** Builds the program; each action loads its command module and hands its exit code to `done`. */
export function buildProgram(io: CliIo, done: (code: ExitCode) => void): Command {
  const program = new Command(NAME)
    .description(
      'Identity-verification tickets for Alibaba Cloud Cloudauth: enqueue a file of applicants, ' +
        'follow, report, retry, cancel; and run the process roles (api, worker, emulator, all). ' +
        'Configured from the environment.',
    )
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', `\n${EXIT_CODES_HELP}`);

  program
    .command('enqueue')
    .description('check a CSV or JSONL file of tickets, print the plan, and enqueue the valid rows')
    .argument('<file>', 'a .csv or .jsonl file')
    .option('--biz <Biz>', 'Biz of the rows that name none (a CLOUDAUTH_BIZ scenario)')
    .option('--batch <id>', 'batch id (default: <file name>-<UTC time>)')
    .option('--dry-run', 'print the plan, enqueue nothing')
    .option('--wait', 'then follow the batch until every ticket has ended')
    .option('--yes', 'do not ask for confirmation')
    .addHelpText('after', ENQUEUE_HELP)
    .action(async (file: string, options: EnqueueOptions) => {
      const { enqueueCommand } = await import('./enqueue-command.js');
      done(await enqueueCommand(file, options, io));
    });

  program
    .command('status')
    .description("a ticket's state, verdict, last error, masked applicant and history")
    .argument('<TicketId>')
    .option('--json', 'machine-readable output')
    .addHelpText('after', examples('status t-1001', 'status t-1001 --json'))
    .action(async (ticketId: string, options: { json?: boolean }) => {
      const { statusCommand } = await import('./status-command.js');
      done(await statusCommand(ticketId, options, io));
    });

  program
    .command('report')
    .description('one row per ticket of a batch: outcome and scores, no personal data')
    .requiredOption('--batch <id>', 'the batch')
    .requiredOption('--out <file>', 'results.csv or results.jsonl')
    .addHelpText(
      'after',
      examples(
        'report --batch march-intake --out results.csv',
        'report --batch march-intake --out results.jsonl',
      ),
    )
    .action(async (options: { batch: string; out: string }) => {
      const { reportCommand } = await import('./report-command.js');
      done(await reportCommand(options, io));
    });

  program
    .command('retry')
    .description('send a failed or expired ticket (or every failed one) back to the queue')
    .argument('[TicketId]')
    .option('--failed', 'retry every failed ticket')
    .option('--batch <id>', 'with --failed: only those of this batch')
    .addHelpText(
      'after',
      examples('retry t-1001', 'retry --failed --batch march-intake', 'retry --failed'),
    )
    .action(async (ticketId: string | undefined, options: RetryOptions) => {
      const { retryCommand } = await import('./retry-command.js');
      done(await retryCommand(ticketId, options, io));
    });

  program
    .command('cancel')
    .description('cancel a ticket that has not ended')
    .argument('<TicketId>')
    .addHelpText('after', examples('cancel t-1001'))
    .action(async (ticketId: string) => {
      const { cancelCommand } = await import('./cancel-command.js');
      done(await cancelCommand(ticketId, io));
    });

  const webhooks = program
    .command('webhooks')
    .description('dead-lettered webhook events: list them, send them again');
  webhooks
    .command('dead-letters')
    .description('list events whose delivery gave up')
    .option('--ticket <TicketId>', 'only those of this ticket')
    .addHelpText(
      'after',
      examples('webhooks dead-letters', 'webhooks dead-letters --ticket t-1001'),
    )
    .action(async (options: { ticket?: string }) => {
      const { deadLettersCommand } = await import('./webhooks-command.js');
      done(await deadLettersCommand(options, io));
    });
  webhooks
    .command('replay')
    .description('send dead-lettered events again (after the receiver is fixed)')
    .option('--ticket <TicketId>', 'only those of this ticket')
    .addHelpText('after', examples('webhooks replay', 'webhooks replay --ticket t-1001'))
    .action(async (options: { ticket?: string }) => {
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
