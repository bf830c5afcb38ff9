import { describe, expect, it } from 'vitest';
import {
  describeBiz,
  familyOf,
  financialSceneIds,
  flowOfBiz,
  legacyBiz,
  outerOrderNoOf,
  parseBizEntry,
} from '../../src/domain/biz.js';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

describe('CLOUDAUTH_BIZ entries', () => {
  it('reads a legacy scheme and the financial forms', () => {
    expect(parseBizEntry('RPMin')).toEqual({ profile: 'RPMin' });
    expect(parseBizEntry('financial:ID_PRO:1000000006')).toEqual({
      profile: {
        family: 'financial',
        productCode: 'ID_PRO',
        sceneId: '1000000006',
        precheck: false,
      },
    });
    expect(parseBizEntry('financial:ID_MIN:1000000007:precheck')).toEqual({
      profile: {
        family: 'financial',
        productCode: 'ID_MIN',
        sceneId: '1000000007',
        precheck: true,
      },
    });
  });

  it('says what is wrong with a bad entry', () => {
    expect(parseBizEntry('RPNope')).toEqual({
      problem: expect.stringMatching(/scheme must be one of/),
    });
    expect(parseBizEntry('financial:ID_PLUS:1')).toEqual({
      problem: expect.stringMatching(/product code must be one of ID_PRO, ID_MIN/),
    });
    expect(parseBizEntry('financial:ID_PRO:0123')).toEqual({
      problem: expect.stringMatching(/SceneId/),
    });
    // a SceneId past 15 digits would not stay exact as a JavaScript number
    expect(parseBizEntry('financial:ID_PRO:1234567890123456')).toEqual({
      problem: expect.stringMatching(/up to 15 digits/),
    });
    expect(parseBizEntry('financial:ID_PRO:1:nocheck')).toEqual({
      problem: expect.stringMatching(/:precheck/),
    });
  });

  it('gives each Biz its family and flow', () => {
    const c = loadConfig({
      CLOUDAUTH_BIZ:
        'RPMin=RPMin,RPH5=RPH5BioOnly,web=financial:ID_PRO:11,srv=financial:ID_MIN:12:precheck',
    }).cloudauth.biz;
    expect(
      Object.fromEntries(Object.entries(c).map(([b, p]) => [b, [familyOf(p), flowOfBiz(p)]])),
    ).toEqual({
      RPMin: ['legacy', 'server'],
      RPH5: ['legacy', 'interactive'],
      web: ['financial', 'interactive'],
      srv: ['financial', 'server'],
    });
    expect(legacyBiz(c)).toEqual({ RPMin: 'RPMin', RPH5: 'RPH5BioOnly' });
    expect(financialSceneIds(c)).toEqual(['11', '12']);
    expect(describeBiz(c.srv!)).toBe('financial:ID_MIN:12:precheck');
  });

  it('refuses a bad entry and a Biz named twice, naming the entry', () => {
    expect(() => loadConfig({ CLOUDAUTH_BIZ: 'web=financial:ID_PRO:x' })).toThrow(ConfigError);
    expect(() => loadConfig({ CLOUDAUTH_BIZ: 'web=financial:ID_PRO:x' })).toThrow(/SceneId/);
    expect(() => loadConfig({ CLOUDAUTH_BIZ: 'a=RPMin,a=financial:ID_PRO:1' })).toThrow(
      /configured twice/,
    );
  });
});

describe('OuterOrderNo', () => {
  it('is the TicketId when it is at most 32 letters and digits', () => {
    expect(outerOrderNoOf('A1b2C3')).toBe('A1b2C3');
    expect(outerOrderNoOf('x'.repeat(32))).toBe('x'.repeat(32));
  });

  it('is 32 hex digits of SHA-256 otherwise, the same every time, distinct per TicketId', () => {
    const long = 'order-2026/11/29#' + 'z'.repeat(100);
    const a = outerOrderNoOf(long);
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(outerOrderNoOf(long)).toBe(a);
    expect(outerOrderNoOf('x'.repeat(33))).toMatch(/^[0-9a-f]{32}$/);
    expect(outerOrderNoOf('ticket-1')).not.toBe(outerOrderNoOf('ticket-2'));
    // a TicketId in a digest's form is hashed too: nobody can take another ticket's OuterOrderNo
    const digest = outerOrderNoOf('a/b');
    expect(outerOrderNoOf(digest)).not.toBe(digest);
    expect(outerOrderNoOf(digest)).toMatch(/^[0-9a-f]{32}$/);
  });
});
