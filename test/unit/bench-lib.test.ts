import { describe, expect, it } from 'vitest';
import { moduleOf, selfTimeByFunction, selfTimeByModule } from '../../bench/lib/cpu-profile.js';
import { ratioOf, roundOrder } from '../../bench/lib/interleave.js';
import { parseProcStatCpuMs, parseProcStatus } from '../../bench/lib/proc-status.js';
import { queueKeys, windowOf } from '../../bench/lib/queue-progress.js';
import {
  infoNumber,
  parseCommandStats,
  topCommands,
  totalCalls,
  withoutOwn,
} from '../../bench/lib/redis-stats.js';
import { formatNumber, formatRatio, formatTable } from '../../bench/lib/report.js';
import type { BenchRow } from '../../bench/types.js';

const COMMANDSTATS = [
  '# Commandstats',
  'cmdstat_evalsha:calls=300,usec=9000,usec_per_call=30.00,rejected_calls=0,failed_calls=0',
  'cmdstat_hget:calls=1200,usec=1200,usec_per_call=1.00,rejected_calls=0,failed_calls=0',
  'cmdstat_config|resetstat:calls=1,usec=10,usec_per_call=10.00,rejected_calls=0,failed_calls=0',
  'cmdstat_zcard:calls=20,usec=20,usec_per_call=1.00,rejected_calls=0,failed_calls=0',
  'cmdstat_info:calls=1,usec=50,usec_per_call=50.00,rejected_calls=0,failed_calls=0',
  '',
].join('\r\n');

describe('Redis INFO parsing', () => {
  it('reads calls by command, subcommands included', () => {
    expect(parseCommandStats(COMMANDSTATS)).toEqual({
      evalsha: 300,
      hget: 1200,
      'config|resetstat': 1,
      zcard: 20,
      info: 1,
    });
  });

  it('removes the benchmark’s own commands and drops what is left at zero', () => {
    const own = { 'config|resetstat': 1, zcard: 20, info: 1 };
    const left = withoutOwn(parseCommandStats(COMMANDSTATS), own);
    expect(left).toEqual({ evalsha: 300, hget: 1200 });
    expect(totalCalls(left)).toBe(1500);
  });

  it('lists the most called commands per unit, largest first', () => {
    expect(topCommands({ a: 10, b: 300, c: 45 }, 100, 2)).toEqual({ b: 3, c: 0.5 });
  });

  it('reads a numeric field of an INFO section, NaN when absent', () => {
    const memory = '# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\n';
    expect(infoNumber(memory, 'used_memory')).toBe(1_048_576);
    expect(infoNumber(memory, 'used_memory_peak')).toBeNaN();
  });
});

describe('/proc parsing', () => {
  it('reads VmRSS and VmHWM in bytes', () => {
    const status = 'Name:\tnode\nVmHWM:\t  250880 kB\nVmRSS:\t  204800 kB\nThreads:\t11\n';
    expect(parseProcStatus(status)).toEqual({
      rssBytes: 204_800 * 1024,
      hwmBytes: 250_880 * 1024,
    });
  });

  it('refuses a status without VmRSS', () => {
    expect(() => parseProcStatus('Name:\tnode\n')).toThrow(/VmRSS/);
  });

  it('adds user and system time, with a command name holding spaces and parentheses', () => {
    const stat =
      '4242 (node (tsx) w) S 1 4242 4242 0 -1 4194560 5000 0 0 0 1234 56 0 0 20 0 11 0 100 0 0';
    expect(parseProcStatCpuMs(stat)).toBe((1234 + 56) * 10);
  });
});

describe('A/B rounds', () => {
  it('alternates the sides, ours first unless asked', () => {
    expect(roundOrder(3)).toEqual(['ours', 'baseline', 'baseline', 'ours', 'ours', 'baseline']);
    expect(roundOrder(2, true)).toEqual(['baseline', 'ours', 'ours', 'baseline']);
    expect(roundOrder(0)).toEqual([]);
  });

  it('rounds a ratio to 3 decimals, and has none against 0', () => {
    expect(ratioOf(2, 3)).toBe(0.667);
    expect(ratioOf(1, 0)).toBeNull();
  });
});

describe('queue windows', () => {
  it('spans the first start to the last finish', () => {
    expect(windowOf([1500, 1000, 1200], [2000, 3000, 2500])).toEqual({
      jobs: 3,
      firstStart: 1000,
      lastFinish: 3000,
      seconds: 2,
    });
  });

  it('refuses a window of no jobs', () => {
    expect(() => windowOf([], [])).toThrow(/no finished jobs/);
  });

  it('names BullMQ keys under a prefix', () => {
    const keys = queueKeys('{bench:q}', 'tickets');
    expect(keys.completed).toBe('{bench:q}:tickets:completed');
    expect(keys.failed).toBe('{bench:q}:tickets:failed');
    expect(keys.job('t-1')).toBe('{bench:q}:tickets:t-1');
  });
});

describe('the table', () => {
  it('formats figures: whole numbers from 100, 3 significant digits below, a dash for none', () => {
    expect(formatNumber(12_345.6)).toBe('12,346');
    expect(formatNumber(0.86123)).toBe('0.861');
    expect(formatNumber(83.66)).toBe('83.7');
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(null)).toBe('—');
    expect(formatNumber(Number.NaN)).toBe('NaN');
  });

  it('shows ratios to 3 decimals', () => {
    expect(formatRatio(1.053)).toBe('1.053');
    expect(formatRatio(0.5)).toBe('0.5');
    expect(formatRatio(null)).toBe('—');
  });

  it('aligns one row per figure under the headers, saying whether each goal is met', () => {
    const rows: BenchRow[] = [
      {
        id: 'a.throughput',
        label: 'tickets/s',
        value: 900,
        baseline: 1000,
        unit: 'tickets/s',
        ratio: 0.9,
        goal: 'ratio >= 0.6',
        met: true,
      },
      {
        id: 'b',
        label: 'bytes',
        value: 5000,
        baseline: null,
        unit: 'B',
        ratio: null,
        goal: '',
        met: null,
      },
    ];
    const lines = formatTable(rows).split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^id\s+label\s+ours\s+baseline\s+unit\s+ratio\s+goal\s+met$/);
    expect(lines[2]).toMatch(
      /^a\.throughput\s+tickets\/s\s+900\s+1,000\s+tickets\/s\s+0\.9\s+ratio >= 0\.6\s+yes$/,
    );
    expect(lines[3]).toMatch(/—.*info$/);
    const end = (line: string | undefined, text: string) =>
      (line ?? '').indexOf(text) + text.length;
    expect(end(lines[2], '900')).toBe(end(lines[0], 'ours'));
    expect(end(lines[2], '1,000')).toBe(end(lines[0], 'baseline'));
  });
});

describe('CPU profiles', () => {
  const profile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
      { id: 2, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
      {
        id: 3,
        callFrame: {
          functionName: 'sendCommand',
          url: 'file:///repo/node_modules/ioredis/built/Redis.js',
          lineNumber: 353,
        },
      },
      {
        id: 4,
        callFrame: {
          functionName: 'apply',
          url: 'file:///repo/src/adapters/redis/ticket-store.ts',
          lineNumber: 9,
        },
      },
    ],
    samples: [2, 3, 3, 4, 2],
    timeDeltas: [5000, 3000, 3000, 2000, 5000],
  };

  it('sums self time by function, idle left out of the shares', () => {
    expect(selfTimeByFunction(profile)).toEqual([
      { name: 'sendCommand (node_modules/ioredis/built/Redis.js:354)', ms: 6, percent: 75 },
      { name: 'apply (src/adapters/redis/ticket-store.ts:10)', ms: 2, percent: 25 },
    ]);
  });

  it('sums self time by package or file', () => {
    expect(selfTimeByModule(profile).map((r) => r.name)).toEqual([
      'pkg:ioredis',
      'src/adapters/redis/ticket-store.ts',
    ]);
  });

  it('names modules: scoped packages, node internals, native frames', () => {
    expect(moduleOf('file:///r/node_modules/@alicloud/pop-core/lib/rpc.js', 'encode')).toBe(
      'pkg:@alicloud/pop-core',
    );
    expect(moduleOf('node:_http_client', 'ClientRequest')).toBe('node:_http_client');
    expect(moduleOf('', 'writeUtf8String')).toBe('(native)');
    expect(moduleOf('', '(garbage collector)')).toBe('(garbage collector)');
  });
});
