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

/**
 * The order of `rounds` rounds of any number of sides: each round runs every side once, the
 * order rotated by one each round (A B C, B C A, C A B, A B C …), so that over as many rounds as
 * sides each side has run once in every position. With two sides it is {@link roundOrder}'s.
 */
export function rotatedOrder<K extends string>(sides: readonly K[], rounds: number): K[] {
  return Array.from({ length: rounds }, (_, i) =>
    sides.map((_, j) => sides[(i + j) % sides.length]!),
  ).flat();
}

/** Runs several sides in {@link rotatedOrder}, `rounds` times each; per side, its results in order. */
export async function interleaveSides<K extends string, R>(
  rounds: number,
  sides: Readonly<Record<K, (round: number) => Promise<R>>>,
): Promise<Record<K, R[]>> {
  const names = Object.keys(sides) as K[];
  const out = Object.fromEntries(names.map((name) => [name, [] as R[]])) as Record<K, R[]>;
  for (const side of rotatedOrder(names, rounds)) {
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
