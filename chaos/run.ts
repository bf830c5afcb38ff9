/**
 * `npm run chaos [-- --topology single|sentinel|cluster --tickets N --kills N --quick --seed N
 * --power-loss MS --keep --log-level L]`: one chaos
 * run (see `run-chaos.ts`), its figures printed; exit 1 on any loss, mismatch, double advance or
 * duplicate billable call (a duplicate ContrastFaceVerify only past the FaceServer tickets a kill
 * or the Redis outage met mid-call: see `checks.ts`), 2 when the run could not be set up.
 */
import { parseArgs } from 'node:util';
import { CHAOS_TOPOLOGIES } from './chaos-topology.js';
import { formatReport } from './report.js';
import { fullRun, quickRun, runChaos, type ChaosOptions } from './run-chaos.js';

const { values } = parseArgs({
  options: {
    topology: { type: 'string', default: 'single' },
    tickets: { type: 'string' },
    kills: { type: 'string' },
    workers: { type: 'string' },
    seed: { type: 'string' },
    'power-loss': { type: 'string' },
    'log-level': { type: 'string' },
    quick: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  process.stdout.write(`npm run chaos -- [options]
  --topology T      Redis: single (killed once, restarted from its AOF; default), sentinel
                    (a primary, 2 replicas, 3 Sentinels; the primary killed twice and failed
                    over), cluster (3 primaries with a replica each; a primary killed, failed over)
  --tickets N       tickets to enqueue (default 5000; --quick 500)
  --kills N         worker SIGKILLs, each followed by a restart (default 30; --quick 4)
  --workers N       worker processes (default 3)
  --seed N          seed of the ticket plan and the kill schedule
  --power-loss MS   simulate a machine crash: cut the AOF back to MS before the Redis kill
  --quick           the short run (what CI runs)
  --keep            keep the run's directory (logs of every process, the AOF)
  --log-level L     LOG_LEVEL of the API and the workers (default warn; with --keep)
`);
  process.exit(0);
}

function count(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`--${name} must be a whole number\n`);
    process.exit(2);
  }
  return n;
}

const topology = CHAOS_TOPOLOGIES.find((t) => t === values.topology);
if (topology === undefined) {
  process.stderr.write(`--topology must be one of ${CHAOS_TOPOLOGIES.join(', ')}\n`);
  process.exit(2);
}
const overrides: Partial<ChaosOptions> = { keepDir: values.keep, topology };
if (values['log-level'] !== undefined) overrides.logLevel = values['log-level'];
const tickets = count('tickets', values.tickets);
const kills = count('kills', values.kills);
const workers = count('workers', values.workers);
const seed = count('seed', values.seed);
const powerLoss = count('power-loss', values['power-loss']);
if (tickets !== undefined) overrides.tickets = Math.max(1, tickets);
if (kills !== undefined) overrides.kills = kills;
if (workers !== undefined) overrides.workers = Math.max(1, workers);
if (seed !== undefined) overrides.seed = seed;
if (powerLoss !== undefined) overrides.powerLossMs = powerLoss;

const options = values.quick ? quickRun(overrides) : fullRun(overrides);
try {
  const report = await runChaos(options);
  process.stdout.write(`\n${formatReport(report)}\n`);
  process.exit(report.ok ? 0 : 1);
} catch (err) {
  process.stderr.write(`chaos run aborted: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
}
