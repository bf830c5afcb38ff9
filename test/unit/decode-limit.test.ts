import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS, loadConfig } from '../../src/config.js';
import {
  DEFAULT_DECODE_CONCURRENCY,
  DecodeGate,
  defaultImageDecoding,
} from '../../src/oss/decode-limit.js';
import { DEFAULT_IMAGE_LIMITS } from '../../src/oss/image-header.js';

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
  it('runs at most its slots at once and lets the others in, in arrival order', async () => {
    const gate = new DecodeGate(2);
    const tasks = [controlled(), controlled(), controlled(), controlled()];
    const runs = tasks.map((t) => gate.run(t.task));
    const startedNow = () => tasks.map((t) => t.started.value);
    await Promise.resolve();
    expect(startedNow()).toEqual([true, true, false, false]);
    expect([gate.active, gate.waiting]).toEqual([2, 2]);
    tasks[1]?.finish();
    await runs[1];
    expect(startedNow()).toEqual([true, true, true, false]);
    tasks[0]?.fail(new Error('decoder failed'));
    await expect(runs[0]).rejects.toThrow('decoder failed');
    expect(startedNow()).toEqual([true, true, true, true]);
    expect([gate.active, gate.waiting]).toEqual([2, 0]);
    tasks[2]?.finish();
    tasks[3]?.finish();
    await Promise.all([runs[2], runs[3]]);
    expect([gate.active, gate.waiting]).toEqual([0, 0]);
  });

  it('refuses to be made without a slot', () => {
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
      decodeConcurrency: DEFAULT_DECODE_CONCURRENCY,
    });
    expect(defaultImageDecoding().limits).toEqual(DEFAULT_IMAGE_LIMITS);
    expect(defaultImageDecoding().gate.slots).toBe(DEFAULT_DECODE_CONCURRENCY);
    expect(CONFIG_KEYS.IMAGE_MAX_PIXELS.default).toBe('25000000');
    const set = loadConfig({
      IMAGE_MAX_PIXELS: '12000000',
      IMAGE_MAX_SIDE_PX: '8000',
      IMAGE_DECODE_CONCURRENCY: '1',
    });
    expect(set.images).toEqual({ maxPixels: 12_000_000, maxSidePx: 8000, decodeConcurrency: 1 });
    expect(() => loadConfig({ IMAGE_DECODE_CONCURRENCY: '0' })).toThrow(/IMAGE_DECODE_CONCURRENCY/);
    expect(() => loadConfig({ IMAGE_MAX_PIXELS: '1000' })).toThrow(/IMAGE_MAX_PIXELS/);
  });
});
