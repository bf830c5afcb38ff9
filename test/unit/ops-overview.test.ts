/**
 * The pure parts of the operations page's overview: the charts' windows, the actions charted, a
 * batch's time left at the configured QPS (`overview-model.ts`), and the page's chart maths (the
 * browser module `chart-math.js`, imported as the page serves it).
 */
import { describe, expect, it } from 'vitest';
import type { BizCatalogue } from '../../src/domain/biz.js';
import {
  batchEta,
  chartActions,
  remainingCalls,
  windowsAt,
} from '../../src/api/ui/overview-model.js';
import {
  areaPath,
  barSlot,
  duration,
  etaText,
  linePath,
  niceCeil,
  niceScale,
  percent,
  rolling,
  stack,
  yOf,
} from '../../src/api/ui/assets/chart-math.js';

const BIZ: BizCatalogue = {
  RPMin: 'RPMin',
  RPH5BioOnly: 'RPH5BioOnly',
  Pro: { family: 'financial', productCode: 'ID_PRO', sceneId: '1', precheck: true },
  Min: { family: 'financial', productCode: 'ID_MIN', sceneId: '2', precheck: false },
};

describe('windowsAt', () => {
  it('ends the series with the current minute and second', () => {
    const now = Date.UTC(2024, 0, 1, 10, 30, 15, 500);
    const w = windowsAt(now);
    expect(w.lastSecond).toBe(Math.floor(now / 1000));
    expect(w.firstSecond).toBe(w.lastSecond - 299);
    expect(w.firstMinute * 60_000).toBe(Date.UTC(2024, 0, 1, 9, 31));
  });
});

describe('chartActions', () => {
  it('names the actions the configured Biz call, in call order, then the other limited ones', () => {
    expect(chartActions(BIZ, { '*': 5, GetMaterials: 2, SubmitMaterials: 1 })).toEqual([
      'GetVerifyToken',
      'SubmitMaterials',
      'GetStatus',
      'Id2MetaVerify',
      'InitFaceVerify',
      'DescribeFaceVerify',
      'ContrastFaceVerify',
      'GetMaterials',
    ]);
    expect(chartActions({ H5: 'RPH5BioOnly' }, {})).toEqual(['GetVerifyToken', 'GetStatus']);
  });
});

describe('remainingCalls', () => {
  it('counts a queued ticket whole, a legacy server ticket holding a token its submission', () => {
    expect(remainingCalls('queued', 'RPMin')).toEqual({ GetVerifyToken: 1, SubmitMaterials: 1 });
    expect(remainingCalls('token_issued', 'RPMin')).toEqual({ SubmitMaterials: 1 });
    expect(remainingCalls('token_issued', 'RPH5BioOnly')).toEqual({});
    expect(remainingCalls('awaiting_user', 'RPH5BioOnly')).toEqual({});
    expect(remainingCalls('queued', BIZ.Pro!)).toEqual({ Id2MetaVerify: 1, InitFaceVerify: 1 });
    expect(remainingCalls('submitted', 'RPMin')).toEqual({});
  });
});

describe('batchEta', () => {
  const qps = (limits: Record<string, number>) => (a: string) => limits[a] ?? 0;

  it("is the bottleneck action's calls over its QPS, with the headroom", () => {
    const eta = batchEta(
      { RPMin: { queued: 10, token_issued: 4 } },
      BIZ,
      qps({ GetVerifyToken: 10, SubmitMaterials: 2 }),
      0.03,
    );
    // SubmitMaterials: 14 calls at 2 QPS, 3 % wider: 7.21 s; GetVerifyToken: 10 at 10, 1.03 s
    expect(eta).toEqual({ kind: 'limited', seconds: 8, action: 'SubmitMaterials', qps: 2 });
  });

  it('says done, unlimited or waiting when no limited call is left', () => {
    expect(batchEta({}, BIZ, qps({ '*': 1 }), 0).kind).toBe('done');
    expect(batchEta({ RPMin: { queued: 3 } }, BIZ, qps({}), 0)).toEqual({
      kind: 'unlimited',
      seconds: null,
      action: null,
      qps: null,
    });
    expect(batchEta({ RPH5BioOnly: { awaiting_user: 2 } }, BIZ, qps({ '*': 5 }), 0).kind).toBe(
      'waiting',
    );
    // a Biz no longer configured: its tickets are left, their calls unknown
    expect(batchEta({ Gone: { queued: 2 } }, BIZ, qps({ GetVerifyToken: 5 }), 0).kind).toBe(
      'waiting',
    );
  });
});

describe('chart-math.js', () => {
  it('rounds scales up to 1, 2, 2.5 or 5 times a power of ten, with integer steps for counts', () => {
    expect([0, 0.3, 1, 3, 7, 11, 26, 240].map(niceCeil)).toEqual([1, 0.5, 1, 5, 10, 20, 50, 250]);
    expect(niceScale(7)).toEqual({ max: 8, step: 2, ticks: [0, 2, 4, 6, 8] });
    expect(niceScale(100)).toEqual({ max: 100, step: 25, ticks: [0, 25, 50, 75, 100] });
    expect(niceScale(0)).toEqual({ max: 1, step: 1, ticks: [0, 1] });
    expect(niceScale(2)).toEqual({ max: 2, step: 1, ticks: [0, 1, 2] });
    expect(niceScale(0.4, 4, false)).toEqual({
      max: 0.4,
      step: 0.1,
      ticks: [0, 0.1, 0.2, 0.3, 0.4],
    });
  });

  const box = { x: 10, y: 0, width: 100, height: 50 };

  it('maps values into the box, clamped, and draws lines and areas through them', () => {
    expect(yOf(box, 0, 10)).toBe(50);
    expect(yOf(box, 10, 10)).toBe(0);
    expect(yOf(box, 20, 10)).toBe(0);
    expect(linePath([0, 5, 10], box, 10)).toBe('M10 50 L60 25 L110 0');
    expect(areaPath([0, 10], box, 10)).toBe('M10 50 L10 50 L110 0 L110 50 Z');
    expect(linePath([], box, 10)).toBe('');
    expect(areaPath([], box, 10)).toBe('');
  });

  it('stacks series and spreads bars over equal slots', () => {
    expect(
      stack([
        [1, 0, 2],
        [3, 1, 0],
      ]),
    ).toEqual({
      spans: [
        [
          [0, 1],
          [0, 0],
          [0, 2],
        ],
        [
          [1, 4],
          [0, 1],
          [2, 2],
        ],
      ],
      totals: [4, 1, 2],
    });
    expect(barSlot(box, 0, 4)).toEqual({ x: 12.5, width: 20 });
    expect(barSlot(box, 3, 4)).toEqual({ x: 87.5, width: 20 });
  });

  it('keeps the rolling queue series to its window, in order', () => {
    let series: { at: number; ms: number }[] = [];
    series = rolling(series, { at: 1000, ms: 1 }, 5000);
    series = rolling(series, { at: 4000, ms: 2 }, 5000);
    series = rolling(series, { at: 4000, ms: 9 }, 5000);
    series = rolling(series, { at: 7000, ms: 3 }, 5000);
    expect(series).toEqual([
      { at: 4000, ms: 2 },
      { at: 7000, ms: 3 },
    ]);
  });

  it('writes durations, ETAs and progress as the batch list shows them', () => {
    expect([0, 45, 725, 12_000].map(duration)).toEqual(['0 s', '45 s', '12 min 5 s', '3 h 20 min']);
    expect(etaText({ kind: 'limited', seconds: 90, action: 'SubmitMaterials', qps: 2 })).toBe(
      'ETA 1 min 30 s (SubmitMaterials at 2 QPS)',
    );
    expect(etaText({ kind: 'done', seconds: 0, action: null, qps: null })).toBe('done');
    expect(etaText({ kind: 'unlimited', seconds: null, action: null, qps: null })).toContain(
      'no QPS limit',
    );
    expect(etaText({ kind: 'waiting', seconds: null, action: null, qps: null })).toContain(
      'waiting',
    );
    expect([percent(0, 0), percent(1, 3), percent(5, 5)]).toEqual([0, 33, 100]);
  });
});
