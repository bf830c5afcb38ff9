/**
 * The run's one table (stdout) and its JSON record (`bench/results/latest.json`).
 */
import { cpus } from 'node:os';
import type { BenchRow } from '../types.js';

/** Where and how the figures were measured. */
export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  node: string;
  redis: string;
  platform: string;
  date: string;
  quick: boolean;
  totalSeconds: number;
}

export function machineInfo(
  redisVersion: string,
  quick: boolean,
  totalSeconds: number,
): MachineInfo {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    node: process.version,
    redis: redisVersion,
    platform: `${process.platform} ${process.arch}`,
    date: new Date().toISOString(),
    quick,
    totalSeconds: Math.round(totalSeconds * 10) / 10,
  };
}

/** A figure for the table: 3 significant digits below 100, whole numbers above. */
export function formatNumber(n: number | null): string {
  if (n === null) return '—';
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 100) return Math.round(n).toLocaleString('en-US');
  if (abs === 0) return '0';
  return String(Number(n.toPrecision(3)));
}

/** A ratio for the table: 3 decimals, so that 1.053 does not read as a goal of 1.05 met. */
export function formatRatio(n: number | null): string {
  if (n === null || !Number.isFinite(n)) return formatNumber(n);
  return String(Number(n.toFixed(3)));
}

function metText(met: boolean | null): string {
  if (met === null) return 'info';
  return met ? 'yes' : 'NO';
}

const HEADERS = ['id', 'label', 'ours', 'baseline', 'unit', 'ratio', 'goal', 'met'] as const;

/** The rows as one aligned text table. */
export function formatTable(rows: readonly BenchRow[]): string {
  const cells = rows.map((r) => [
    r.id,
    r.label,
    formatNumber(r.value),
    formatNumber(r.baseline),
    r.unit,
    formatRatio(r.ratio),
    r.goal,
    metText(r.met),
  ]);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...cells.map((c) => width(c[i] ?? ''))));
  const line = (c: readonly string[]) =>
    c
      .map((text, i) => {
        const pad = ' '.repeat(Math.max(0, (widths[i] ?? 0) - width(text)));
        return i >= 2 && i <= 5 && i !== 4 ? pad + text : text + pad;
      })
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(HEADERS), rule, ...cells.map(line)].join('\n');
}

/** Display width: CJK characters take two columns. */
function width(text: string): number {
  let w = 0;
  for (const ch of text)
    w += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\uff00-\uff60]/.test(ch) ? 2 : 1;
  return w;
}

/** What `latest.json` holds. */
export interface BenchRecord {
  machine: MachineInfo;
  rows: readonly BenchRow[];
}
