/**
 * A/B rounds run interleaved, the order flipping every round (A B B A A B …, or B A A B … when
 * `baselineFirst`), so that slow phases of a shared machine and the cost of going first fall on
 * both sides alike; each side is summarised by its median.
 */
import { median } from '../types.js';

/** The order of `rounds` rounds of two sides. */
export function roundOrder(rounds: number, baselineFirst = false): ('ours' | 'baseline')[] {
  return Array.from({ length: rounds }, (_, i): ('ours' | 'baseline')[] =>
    (i % 2 === 0) !== baselineFirst ? ['ours', 'baseline'] : ['baseline', 'ours'],
  ).flat();
}

/** Each side's per-round results, in the order run. */
export interface Interleaved<R> {
  ours: R[];
  baseline: R[];
}

/** Runs the two sides interleaved, `rounds` times each. */
export async function interleave<R>(
  rounds: number,
  sides: { ours: (round: number) => Promise<R>; baseline: (round: number) => Promise<R> },
): Promise<Interleaved<R>> {
  const out: Interleaved<R> = { ours: [], baseline: [] };
  for (const side of roundOrder(rounds)) {
    out[side].push(await sides[side](out[side].length));
  }
  return out;
}

/** Median of one figure over a side's rounds. */
export function medianOf<R>(results: readonly R[], figure: (r: R) => number): number {
  return median(results.map(figure));
}

/** `value / baseline`, rounded to 3 decimals; null when the baseline is 0. */
export function ratioOf(value: number, baseline: number): number | null {
  return baseline === 0 ? null : Math.round((value / baseline) * 1000) / 1000;
}
