/**
 * The `cloudauth-orchestrator` command line (`npm run cli -- <command>`, or the package's bin).
 * Configured from the environment like the workers (same Redis, same REDIS_PREFIX); logs at warn
 * on stderr, user output on stdout. With `--api <URL>` (and `--token-file` or CAO_API_TOKEN) the
 * ticket commands talk to the HTTP API of a deployment instead, and need no other configuration.
 *
 *   enqueue <file.csv|file.jsonl|-> --biz <Biz> [--batch <id>] [--format csv|jsonl] [--dry-run]
 *     [--wait] [--yes] [--json] [--api]
 *   status <TicketId> [--json] [--api]
 *   report --batch <id> --out results.csv|results.jsonl|- [--format csv|jsonl] [--json] [--api]
 *   retry <TicketId> | retry --failed [--batch <id>] [--json] [--api]
 *   cancel <TicketId> [--json] [--api]
 *   erase <TicketId> [--json] [--api]
 *   webhooks dead-letters | webhooks replay [--ticket <TicketId>] [--json]
 *   api | worker | emulator | all   (long-running process roles; see src/roles/)
 *   --version
 *
 * `-` is standard input (enqueue) or standard output (report). `--json` prints one JSON document
 * on stdout; progress and errors go to stderr. Colour only on a terminal, never with NO_COLOR.
 *
 * Exit codes:
 *   0 success (enqueue: every valid row enqueued and no invalid rows; with --wait also every
 *     ticket ended passed or not passed)
 *   1 unexpected error; also Redis or (with --api) the API unreachable or unavailable
 *   2 usage or configuration error (bad arguments, unknown file type, unreadable file, config,
 *     a bearer token the API refuses)
 *   3 some rows invalid (the valid ones were enqueued unless --dry-run); wins over 4
 *   4 with --wait: some tickets ended failed, expired or cancelled
 *   5 unknown TicketId or batch (status, retry, cancel, report)
 *   6 the ticket's state does not allow the command
 *   7 Redis is out of memory (maxmemory), or with --api the API's store or staging store is
 *     full: enqueue stopped; free memory (space) and run it again
 */
import { processIo } from './cli-context.js';
import { runCli } from './program.js';

const code = await runCli(process.argv, processIo());
process.stdout.write('', () => process.exit(code));
