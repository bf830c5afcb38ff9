import { describe, expect, it } from 'vitest';
import {
  FINANCIAL_ACTIONS,
  FINANCIAL_BENCH_BIZ,
  FINANCIAL_QPS,
  answeredByAction,
  catalogueOf,
  ceilingFaults,
  mergeReports,
  qpsOf,
  qpsSetting,
  quotaIdeal,
  shares,
  throttledByAction,
  windowRow,
} from '../../bench/quota-financial.js';
import type { DriverReport } from '../../bench/lib/face-verify-driver.js';
import { financialSceneIds } from '../../src/domain/biz.js';
import { loadConfig } from '../../src/config.js';
import { faultConfigSchema } from '../../src/emulator/faults.js';

describe('the financial actions’ own QPS', () => {
  it('names every action with its own pair after the fallback, as the workers read it', () => {
    const setting = qpsSetting(50, { Id2MetaVerify: 50, InitFaceVerify: 25 });
    expect(setting).toBe('*=50,Id2MetaVerify=50,InitFaceVerify=25');
    const config = loadConfig(
      { ORCHESTRATOR_MODE: 'embedded', CLOUDAUTH_QPS: qpsSetting(50, FINANCIAL_QPS) },
      'worker',
    );
    expect(config.queue.qps).toEqual({ '*': 50, ...FINANCIAL_QPS });
    expect(Object.keys(FINANCIAL_QPS)).toEqual([...FINANCIAL_ACTIONS]);
  });

  it('gives the emulator a ceiling per action that its fault schema takes', () => {
    const faults = ceilingFaults(50, { ContrastFaceVerify: 10 });
    expect(faults).toEqual({ '*': { qps: 50 }, ContrastFaceVerify: { qps: 10 } });
    expect(faultConfigSchema.parse(faults)).toEqual(faults);
  });

  it('reads an action’s QPS from its own pair, else the fallback', () => {
    expect(qpsOf(50, { DescribeFaceVerify: 20 }, 'DescribeFaceVerify')).toBe(20);
    expect(qpsOf(50, { DescribeFaceVerify: 20 }, 'GetStatus')).toBe(50);
    // an inherited name is no pair
    expect(qpsOf(50, {}, 'toString')).toBe(50);
  });

  it('uses scenes the benchmark’s emulator registers (the default CLOUDAUTH_BIZ)', () => {
    const catalogue = catalogueOf(FINANCIAL_BENCH_BIZ);
    expect(catalogue.FaceServer).toEqual({
      family: 'financial',
      productCode: 'ID_MIN',
      sceneId: '1000000007',
      precheck: true,
    });
    expect(catalogue.FaceH5).toMatchObject({ productCode: 'ID_PRO', precheck: false });
    const registered = financialSceneIds(
      loadConfig({ ORCHESTRATOR_MODE: 'embedded' }, 'emulator').cloudauth.biz,
    );
    expect(registered).toEqual(expect.arrayContaining(financialSceneIds(catalogue)));
    expect(() => catalogueOf({ Bad: 'financial:ID_MAX:1' })).toThrow(/Bad: the product code/);
  });
});

describe('the emulator’s counters', () => {
  const counters = {
    Id2MetaVerify: { ok: 95, Throttling: 3, 'Throttling.User': 1 },
    ContrastFaceVerify: { ok: 90, 'Error.InternalError': 2 },
  };

  it('splits answered calls from Throttling answers', () => {
    expect(answeredByAction(counters)).toEqual({ Id2MetaVerify: 95, ContrastFaceVerify: 92 });
    expect(throttledByAction(counters)).toEqual({ Id2MetaVerify: 4, ContrastFaceVerify: 0 });
  });

  it('takes the quota-ideal from the action slowest at its own QPS', () => {
    const ideal = quotaIdeal({ Id2MetaVerify: 100, ContrastFaceVerify: 90, GetStatus: 500 }, (a) =>
      a === 'ContrastFaceVerify' ? 10 : a === 'GetStatus' ? 0 : 50,
    );
    expect(ideal).toEqual({ seconds: 9, action: 'ContrastFaceVerify' });
    expect(quotaIdeal({}, () => 50)).toEqual({ seconds: 0, action: undefined });
  });
});

describe('an action’s window row', () => {
  const base = { qps: 50, throttled: 0, driven: 'test' };

  it('is met at or under the action’s QPS without Throttling', () => {
    const row = windowRow('InitFaceVerify', { ...base, peak: 50 });
    expect(row).toMatchObject({
      id: 'quota.window.InitFaceVerify',
      value: 50,
      baseline: 50,
      unit: 'calls/s',
      ratio: 1,
      goal: '<= 50, 0 Throttling',
      met: true,
    });
  });

  it('is not met over the QPS, with any Throttling answer, or with no call seen', () => {
    expect(windowRow('A', { ...base, peak: 51 }).met).toBe(false);
    expect(windowRow('A', { ...base, peak: 49, throttled: 1 }).met).toBe(false);
    const unseen = windowRow('A', { ...base, peak: undefined });
    expect(unseen.met).toBe(false);
    expect(unseen.value).toBe(0);
    expect(unseen.detail).toMatchObject({ problem: expect.stringMatching(/no call/) });
  });
});

describe('the drivers', () => {
  it('share the sessions as evenly as whole numbers allow', () => {
    expect(shares(5, 2)).toEqual([3, 2]);
    expect(shares(300, 2)).toEqual([150, 150]);
    expect(shares(1, 3)).toEqual([1, 0, 0]);
    expect(shares(7, 3).reduce((a, b) => a + b, 0)).toBe(7);
  });

  it('report as one: summed counts and the window from the first start to the last end', () => {
    const report = (over: Partial<DriverReport>): DriverReport => ({
      index: 0,
      sessions: 10,
      verdicts: 10,
      passed: 10,
      failed: 0,
      throttled: 0,
      errors: {},
      firstStartMs: 1000,
      lastEndMs: 5000,
      ...over,
    });
    const merged = mergeReports([
      report({ throttled: 2, errors: { TIMEOUT: 1 }, failed: 1, verdicts: 9, passed: 8 }),
      report({ index: 1, firstStartMs: 1200, lastEndMs: 6500, errors: { TIMEOUT: 2 } }),
    ]);
    expect(merged).toEqual({
      sessions: 20,
      verdicts: 19,
      passed: 18,
      failed: 1,
      throttled: 2,
      errors: { TIMEOUT: 3 },
      seconds: 5.5,
    });
    expect(mergeReports([]).seconds).toBe(0);
  });
});
