/**
 * Percentiles of per-job figures (nearest rank: the p-th percentile is a value that was measured,
 * never an interpolation between two), and a short summary of a distribution for a row's detail.
 */

/** The nearest-rank `p`-th percentile (0 < p <= 100) of a non-empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of nothing');
  if (!(p > 0 && p <= 100)) throw new Error(`percentile ${p} is not in (0, 100]`);
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil((p / 100) * sorted.length) - 1]!;
}

/** A distribution in a few figures, rounded to 0.1. */
export interface Spread {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function spreadOf(values: readonly number[]): Spread {
  const round1 = (n: number) => Math.round(n * 10) / 10;
  return {
    n: values.length,
    p50: round1(percentile(values, 50)),
    p90: round1(percentile(values, 90)),
    p99: round1(percentile(values, 99)),
    max: round1(percentile(values, 100)),
    mean: round1(values.reduce((a, b) => a + b, 0) / values.length),
  };
}
