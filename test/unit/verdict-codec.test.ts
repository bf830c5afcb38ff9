import { describe, expect, it } from 'vitest';
import { decodeVerdict, encodeVerdict } from '../../src/adapters/redis/ticket-codec.js';
import type { Verdict } from '../../src/domain/ticket.js';

describe('the verdict as its hash field holds it', () => {
  const full: Verdict = {
    statusCode: 1,
    trustedScore: 99.9876,
    similarityScore: 98.7654,
    authorityComparisonScore: 97.6543,
    emulated: true,
  };

  it('reads back what it wrote, every field and none added', () => {
    expect(decodeVerdict(encodeVerdict(full))).toEqual(full);
    const bare: Verdict = { statusCode: 2, auditConclusions: '人脸比对不通过' };
    expect(decodeVerdict(encodeVerdict(bare))).toEqual(bare);
  });

  it('fits a compact Redis hash value (64 bytes) with all three scores, emulated', () => {
    expect(Buffer.byteLength(encodeVerdict(full))).toBeLessThanOrEqual(64);
    // Cloudauth's own names would not
    expect(Buffer.byteLength(JSON.stringify(full))).toBeGreaterThan(64);
  });

  it('reads the long-named JSON earlier versions wrote', () => {
    expect(decodeVerdict(JSON.stringify(full))).toEqual(full);
  });
});
