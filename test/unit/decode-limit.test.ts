import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS, loadConfig } from '../../src/config.js';
import {
  DEFAULT_DECODE_BUDGET_PIXELS,
  DecodeGate,
  decodeWeight,
  defaultImageDecoding,
} from '../../src/adapters/oss/decode-limit.js';
import { DEFAULT_IMAGE_LIMITS } from '../../src/adapters/oss/image-header.js';

/** A task that runs until its `finish` or `fail` is called. */
function controlled() {
  let finish = () => {};
  let fail = (_err: Error) => {};
  const started = { value: false };
  const task = () => {
    started.value = true;
    return new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
  };
  return { task, started, finish: () => finish(), fail: (err: Error) => fail(err) };
}

describe('DecodeGate', () => {
  it('admits tasks by weight within its budget, in arrival order', async () => {
    const gate = new DecodeGate(10);
    const tasks = [controlled(), controlled(), controlled(), controlled(), controlled()];
    const weights = [4, 5, 6, 1, 3];
    const runs = tasks.map((t, i) => gate.run(weights[i] ?? 0, t.task));
    const startedNow = () => tasks.map((t) => t.started.value);
    await Promise.resolve();
    // 4 + 5 fit; 6 does not, and the 1 behind it waits its turn rather than overtaking
    expect(startedNow()).toEqual([true, true, false, false, false]);
    expect([gate.active, gate.waiting, gate.used]).toEqual([2, 3, 9]);
    tasks[1]?.finish();
    await runs[1];
    // 4 + 6 fill the budget: the 1 still waits
    expect(startedNow()).toEqual([true, true, true, false, false]);
    expect([gate.active, gate.waiting, gate.used]).toEqual([2, 2, 10]);
    tasks[0]?.fail(new Error('decoder failed'));
    await expect(runs[0]).rejects.toThrow('decoder failed');
    expect(startedNow()).toEqual([true, true, true, true, true]);
    expect([gate.active, gate.waiting, gate.used]).toEqual([3, 0, 10]);
    for (const t of tasks.slice(2)) t.finish();
    await Promise.all(runs.slice(2));
    expect([gate.active, gate.waiting, gate.used]).toEqual([0, 0, 0]);
  });

  it('runs a task heavier than the whole budget alone', async () => {
    const gate = new DecodeGate(10);
    const [small, huge, after] = [controlled(), controlled(), controlled()];
    const runs = [gate.run(2, small.task), gate.run(50, huge.task), gate.run(1, after.task)];
    await Promise.resolve();
    expect([small.started.value, huge.started.value]).toEqual([true, false]);
    small.finish();
    await runs[0];
    expect([huge.started.value, after.started.value, gate.used]).toEqual([true, false, 10]);
    huge.finish();
    await runs[1];
    expect(after.started.value).toBe(true);
    after.finish();
    await runs[2];
    expect([gate.active, gate.used]).toEqual([0, 0]);
  });

  it('weighs an image by its pixels, a BMP twice', () => {
    expect(decodeWeight('jpeg', { width: 5000, height: 4000 })).toBe(20_000_000);
    expect(decodeWeight('png', { width: 100, height: 10 })).toBe(1000);
    expect(decodeWeight('bmp', { width: 5000, height: 4000 })).toBe(40_000_000);
  });

  it('refuses to be made without a budget', () => {
    expect(() => new DecodeGate(0)).toThrow(RangeError);
    expect(() => new DecodeGate(1.5)).toThrow(RangeError);
  });
});

describe('image settings', () => {
  it('default as the code does, and are read from the environment', () => {
    const config = loadConfig({});
    expect(config.images).toEqual({
      maxPixels: DEFAULT_IMAGE_LIMITS.maxPixels,
      maxSidePx: DEFAULT_IMAGE_LIMITS.maxSidePx,
      decodeBudgetPixels: DEFAULT_DECODE_BUDGET_PIXELS,
    });
    expect(DEFAULT_DECODE_BUDGET_PIXELS).toBe(2 * DEFAULT_IMAGE_LIMITS.maxPixels);
    expect(defaultImageDecoding().limits).toEqual(DEFAULT_IMAGE_LIMITS);
    expect(defaultImageDecoding().gate.budget).toBe(DEFAULT_DECODE_BUDGET_PIXELS);
    expect(CONFIG_KEYS.IMAGE_MAX_PIXELS.default).toBe('25000000');
    expect(CONFIG_KEYS.IMAGE_DECODE_BUDGET_PIXELS.default).toBe(
      String(DEFAULT_DECODE_BUDGET_PIXELS),
    );
    const set = loadConfig({
      IMAGE_MAX_PIXELS: '12000000',
      IMAGE_MAX_SIDE_PX: '8000',
      IMAGE_DECODE_BUDGET_PIXELS: '12000000',
    });
    expect(set.images).toEqual({
      maxPixels: 12_000_000,
      maxSidePx: 8000,
      decodeBudgetPixels: 12_000_000,
    });
    expect(() => loadConfig({ IMAGE_DECODE_BUDGET_PIXELS: '0' })).toThrow(
      /IMAGE_DECODE_BUDGET_PIXELS/,
    );
    expect(() => loadConfig({ IMAGE_MAX_PIXELS: '1000' })).toThrow(/IMAGE_MAX_PIXELS/);
  });
});
