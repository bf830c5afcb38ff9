import { describe, expect, it } from 'vitest';
import type { PopError } from '../../src/emulator/pop/pop-error.js';
import { FaultInjector } from '../../src/emulator/faults.js';
import { checkImageValue, parseMaterials } from '../../src/emulator/cloudauth/materials.js';
import { judge, visibleStatus } from '../../src/emulator/cloudauth/verdict.js';
import { NonceCache } from '../../src/emulator/pop/nonce-cache.js';
import { toXml } from '../../src/emulator/pop/xml.js';

const rules = { rejectNames: ['拒绝'], reviewNames: ['审核'], reviewMs: 1000 };

describe('judge', () => {
  it('is deterministic and scores a pass in [85, 100)', () => {
    const a = judge({ Name: '李三', IdentificationNumber: '11010519491231002X' }, rules, 0);
    const b = judge({ Name: '李三', IdentificationNumber: '11010519491231002X' }, rules, 0);
    expect(a).toEqual(b);
    expect(a.statusCode).toBe(1);
    for (const s of [a.trustedScore, a.similarityScore, a.authorityComparisonScore]) {
      expect(s).toBeGreaterThanOrEqual(85);
      expect(s).toBeLessThan(100);
    }
  });

  it('fails a bad ID number and a reject-list name, and holds a review-list name', () => {
    expect(judge({ IdentificationNumber: '630546198009090099' }, rules, 0).statusCode).toBe(2);
    const rejected = judge({ Name: ' 拒绝 ' }, rules, 0);
    expect(rejected.statusCode).toBe(2);
    expect(rejected.similarityScore).toBeLessThan(60);
    const review = judge({ Name: '审核' }, rules, 5000);
    expect(visibleStatus(review, 5999)).toBe(0);
    expect(visibleStatus(review, 6000)).toBe(1);
  });
});

describe('FaultInjector', () => {
  it('merges an action entry over *, and counts outcomes', () => {
    const f = new FaultInjector({ random: () => 0 });
    f.set({ '*': { internalErrorRate: 1, latencyMs: 5 }, GetStatus: { internalErrorRate: 0 } });
    expect(f.decide('GetStatus')).toEqual({ kind: 'pass', delayMs: 5 });
    expect(f.decide('GetVerifyToken')).toEqual({ kind: 'internal', delayMs: 5 });
    f.count('GetStatus', 'ok');
    f.count('GetStatus', 'ok');
    expect(f.counters()).toEqual({ GetStatus: { ok: 2 } });
  });

  it('admits at most qps calls in any one-second window', () => {
    let now = 0;
    const f = new FaultInjector({ clock: () => now });
    f.set({ GetStatus: { qps: 2 } });
    const kinds = () => f.decide('GetStatus').kind;
    expect([kinds(), kinds(), kinds()]).toEqual(['pass', 'pass', 'throttle-qps']);
    now = 999;
    expect(kinds()).toBe('throttle-qps');
    now = 1000;
    expect(kinds()).toBe('pass');
  });

  it('reports the most calls admitted in any one-second window per action, until reset', () => {
    let now = 0;
    const f = new FaultInjector({ clock: () => now });
    f.set({ GetStatus: { qps: 3 } });
    for (const at of [0, 400, 800, 900, 1300, 1350]) {
      now = at;
      f.decide('GetStatus');
      f.decide('GetMaterials');
    }
    // GetStatus: the call at 900 is refused (3 in the window); 400, 800, 1300 is the fullest.
    // GetMaterials has no ceiling: 400, 800, 900, 1300, 1350 fall in one window.
    expect(f.peaks()).toEqual({ GetStatus: 3, GetMaterials: 5 });
    f.resetCounters();
    expect(f.peaks()).toEqual({});
  });

  it('refuses an invalid config and keeps the old one', () => {
    const f = new FaultInjector();
    f.set({ '*': { throttleRate: 0.5 } });
    expect(() => f.set({ '*': { throttleRate: 2 } })).toThrow();
    expect(() => f.set({ '*': { typo: 1 } })).toThrow();
    expect(f.get()).toEqual({ '*': { throttleRate: 0.5 } });
  });
});

describe('NonceCache', () => {
  it('refuses a nonce inside its lifetime and forgets it after', () => {
    const c = new NonceCache(1000);
    expect(c.remember('k', 'n', 0)).toBe(true);
    expect(c.remember('k', 'n', 999)).toBe(false);
    expect(c.remember('other', 'n', 999)).toBe(true);
    expect(c.remember('k', 'n', 1000)).toBe(true);
  });

  it('stays within its bound', () => {
    const c = new NonceCache(60_000, 100);
    for (let i = 0; i < 1000; i++) c.remember('k', String(i), i);
    expect(c.size).toBe(100);
  });
});

describe('material values', () => {
  const code = (f: () => void) => {
    try {
      f();
    } catch (err) {
      return (err as PopError).code;
    }
    return 'ok';
  };

  it.each([
    ['http://example.invalid/a.jpg', 'GET', 'ok'],
    ['oss://verify-img:715559d76a40774OSS.JPG', 'GET', 'ok'],
    ['base64://iVBORw0KGgo=', 'POST', 'ok'],
    ['base64://iVBORw0KGgo=', 'GET', 'InvalidParam.ImageValuePatternError'],
    ['base64://not base64', 'POST', 'InvalidParam.ImageValuePatternError'],
    ['C:\\face.jpg', 'POST', 'InvalidParam.ImageValuePatternError'],
    ['file:///face.jpg', 'POST', 'InvalidParam.ImageValuePatternError'],
  ] as const)('%s over %s → %s', (value, method, expected) => {
    expect(code(() => checkImageValue('FacePic', value, method))).toBe(expected);
  });

  it('collects Material.N in order and names the incomplete entry', () => {
    expect(
      parseMaterials(
        {
          'Material.2.MaterialType': 'Name',
          'Material.2.Value': '李三',
          'Material.1.MaterialType': 'FacePic',
          'Material.1.Value': 'http://x.invalid/f.jpg',
        },
        'POST',
      ),
    ).toEqual({ FacePic: 'http://x.invalid/f.jpg', Name: '李三' });
    expect(() => parseMaterials({ 'Material.1.MaterialType': 'Name' }, 'POST')).toThrow(
      /Material\.1\.Value/,
    );
  });
});

describe('toXml', () => {
  it('nests objects, repeats arrays and escapes text', () => {
    expect(toXml('R', { A: { B: 1 }, C: ['x', 'y'], D: '<&>' })).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><R><A><B>1</B></A><C>x</C><C>y</C><D>&lt;&amp;&gt;</D></R>',
    );
  });
});
