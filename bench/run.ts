/**
 * `npm run bench [-- --quick] [-- --only overhead,latency,…]`: starts a private `redis-server` (no
 * persistence, a free port) and the emulators in their own process, runs the benchmarks in order,
 * prints one table to stdout and writes `bench/results/latest.json`. Progress goes to stderr.
 * Exit 0 whether or not the goals are met (the table says); 1 when a benchmark crashed, 2 on bad
 * arguments. Child processes and the scratch directory are removed on exit and on SIGINT/SIGTERM.
 */
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../testkit/processes.js';
import { benchHttpIntake } from './http-intake.js';
import { benchImageBombs } from './image-bombs.js';
import { benchIntakeCli } from './intake-cli.js';
import { benchLatency } from './latency.js';
import { startBenchEmulator } from './lib/bench-emulator.js';
import { startBenchRedis } from './lib/bench-redis.js';
import { selfTimeByFunction, selfTimeByModule, type CpuProfile } from './lib/cpu-profile.js';
import { formatTable, machineInfo, type BenchRecord } from './lib/report.js';
import { benchMemory } from './memory.js';
import { benchOrchestration } from './orchestration.js';
import { benchQuota } from './quota.js';
import { benchRedisBytes } from './redis-bytes.js';
import { benchTopology } from './topology.js';
import type { Benchmark, BenchOptions, BenchRow } from './types.js';

/**
 * The benchmarks in the order they run (the emulator's state grows: memory comes late, and
 * redis-bytes, whose photos stay in the OSS emulator's memory, 4.5 MB a ticket, last).
 */
const BENCHMARKS: readonly { id: string; run: Benchmark }[] = [
  { id: 'overhead', run: benchOrchestration },
  { id: 'cluster', run: benchTopology },
  { id: 'latency', run: benchLatency },
  { id: 'quota', run: benchQuota },
  { id: 'intake', run: benchIntakeCli },
  { id: 'http', run: benchHttpIntake },
  { id: 'bombs', run: benchImageBombs },
  { id: 'memory', run: benchMemory },
  { id: 'redis-bytes', run: benchRedisBytes },
];

const started = performance.now();
const log = (line: string) =>
  process.stderr.write(
    `[${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s] ${line}\n`,
  );

const args = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    profile: { type: 'string' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.values.help) {
  process.stdout.write(
    `npm run bench -- [--quick] [--only ${BENCHMARKS.map((b) => b.id).join(',')}] [--profile <dir>]\n` +
      '  --profile <dir>  node --cpu-prof every worker child into <dir>; self-time summaries on stderr\n' +
      '  --keep           keep the scratch directory (every child process log)\n',
  );
  process.exit(0);
}
const selected = selectBenchmarks(args.values.only);
const quick = args.values.quick;
const profileDir = args.values.profile === undefined ? undefined : resolve(args.values.profile);
if (profileDir !== undefined) {
  mkdirSync(profileDir, { recursive: true });
  process.env.BENCH_CPU_PROF_DIR = profileDir;
}

const dir = mkdtempSync(join(tmpdir(), 'cloudauth-bench-'));
const releasers: (() => Promise<void>)[] = [];
let releasing: Promise<void> | undefined;
const release = () =>
  (releasing ??= (async () => {
    for (const r of releasers.reverse()) await r().catch(() => undefined);
    if (args.values.keep) log(`kept ${dir} (process logs)`);
    else rmSync(dir, { recursive: true, force: true });
  })());
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    void release().finally(() => process.exit(130));
  });
}

let crashed = false;
try {
  const { rows, redisVersion } = await runAll();
  const record: BenchRecord = {
    machine: machineInfo(redisVersion, quick, (performance.now() - started) / 1000),
    rows,
  };
  const out = join(REPO_ROOT, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'latest.json'), `${JSON.stringify(record, null, 2)}\n`);
  process.stdout.write(`${formatTable(rows)}\n`);
  log(`done in ${record.machine.totalSeconds} s; wrote bench/results/latest.json`);
  if (profileDir !== undefined) summarizeProfiles(profileDir);
} catch (err) {
  crashed = true;
  log(`crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
} finally {
  await release();
}
process.exit(crashed ? 1 : 0);

async function runAll(): Promise<{ rows: BenchRow[]; redisVersion: string }> {
  log(`${quick ? 'quick' : 'full'} run of ${selected.map((b) => b.id).join(', ')} in ${dir}`);
  const redis = await startBenchRedis(dir);
  releasers.push(() => redis.stop());
  const emulator = await startBenchEmulator(dir);
  releasers.push(() => emulator.stop());
  log(
    `redis-server ${redis.version} at ${redis.url}; emulators at ${emulator.url} and ${emulator.ossUrl}`,
  );
  const options: BenchOptions = {
    quick,
    redisUrl: redis.url,
    emulatorUrl: emulator.url,
    ossUrl: emulator.ossUrl,
    ...(emulator.pid === undefined ? {} : { emulatorPid: emulator.pid }),
    accessKeyId: emulator.accessKeyId,
    accessKeySecret: emulator.accessKeySecret,
    dir,
    log,
  };
  const control = redis.connect();
  releasers.push(() => {
    control.disconnect();
    return Promise.resolve();
  });
  const rows: BenchRow[] = [];
  for (const bench of selected) {
    await control.flushall();
    await emulator.setFaults({});
    await emulator.resetCounters();
    const t0 = performance.now();
    log(`${bench.id}: starting`);
    try {
      rows.push(...(await bench.run(options)));
    } catch (err) {
      crashed = true;
      log(
        `${bench.id} crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
      );
      rows.push(crashRow(bench.id, err));
    }
    log(`${bench.id}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  return { rows, redisVersion: redis.version };
}

function crashRow(id: string, err: unknown): BenchRow {
  return {
    id: `${id}.crashed`,
    label: `crashed: ${err instanceof Error ? err.message : String(err)}`.slice(0, 120),
    value: Number.NaN,
    baseline: null,
    unit: '',
    ratio: null,
    goal: '',
    met: false,
  };
}

function selectBenchmarks(only: string | undefined): readonly { id: string; run: Benchmark }[] {
  if (only === undefined) return BENCHMARKS;
  const ids = only.split(',').map((s) => s.trim());
  const unknown = ids.filter((id) => !BENCHMARKS.some((b) => b.id === id));
  if (unknown.length > 0) {
    process.stderr.write(
      `unknown benchmark ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.id).join(', ')}\n`,
    );
    process.exit(2);
  }
  return BENCHMARKS.filter((b) => ids.includes(b.id));
}

/**
 * The top self-time functions and modules of each child's main thread (its largest profile: tsx's
 * loader thread writes a small one beside it), to stderr.
 */
function summarizeProfiles(profiles: string): void {
  for (const child of readdirSync(profiles, { withFileTypes: true }).filter((d) =>
    d.isDirectory(),
  )) {
    const dir = join(profiles, child.name);
    const main = readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => ({ f, size: statSync(join(dir, f)).size }))
      .sort((a, b) => b.size - a.size)[0];
    if (main === undefined) continue;
    const profile = JSON.parse(readFileSync(join(dir, main.f), 'utf8')) as CpuProfile;
    log(`profile of ${child.name} (${join(dir, main.f)}):`);
    for (const [title, rows] of [
      ['by module', selfTimeByModule(profile, 12)],
      ['by function', selfTimeByFunction(profile, 25)],
    ] as const) {
      log(`  self time ${title}:`);
      for (const r of rows) {
        log(`    ${r.percent.toFixed(1).padStart(5)}%  ${String(r.ms).padStart(6)} ms  ${r.name}`);
      }
    }
  }
}
