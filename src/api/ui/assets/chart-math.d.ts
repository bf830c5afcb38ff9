/**
 * Types of `chart-math.js`, the pure part of the operations page's charts (served as it is, with
 * no build step), for the unit tests that import it.
 */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}
export interface Eta {
  kind: 'limited' | 'unlimited' | 'waiting' | 'done';
  seconds: number | null;
  action: string | null;
  qps: number | null;
}
export function niceCeil(value: number): number;
export function niceScale(
  max: number,
  count?: number,
  integers?: boolean,
): { max: number; step: number; ticks: number[] };
export function xOf(box: Box, i: number, n: number): number;
export function yOf(box: Box, value: number, max: number): number;
export function points(values: readonly number[], box: Box, max: number): [number, number][];
export function linePath(values: readonly number[], box: Box, max: number): string;
export function areaPath(values: readonly number[], box: Box, max: number): string;
export function stack(series: readonly (readonly number[])[]): {
  spans: [number, number][][];
  totals: number[];
};
export function barSlot(box: Box, i: number, n: number, gap?: number): { x: number; width: number };
export function sum(values: readonly number[]): number;
export function rolling<T extends { at: number }>(
  series: readonly T[],
  sample: T,
  keepMs: number,
): T[];
export function duration(seconds: number): string;
export function etaText(eta: Eta): string;
export function percent(finished: number, total: number): number;
