/**
 * The invalid-row log keeps at most PROBLEMS_PER_ROW problems of a row, the rest counted in the
 * last one, in memory and in the file it writes (a hostile row could carry a problem per key).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidRowLog, PROBLEMS_PER_ROW } from '../../src/cli/invalid-rows.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'invalid-log-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('InvalidRowLog', () => {
  it('caps the problems of one row and counts the rest', async () => {
    const log = new InvalidRowLog(join(dir, 'in.jsonl'), dir);
    const many = Array.from({ length: 5000 }, (_, i) => ({ field: `f${i}`, message: 'is bad' }));
    await log.add({ line: 3, ticketId: 't-3', problems: many });
    await log.add({ line: 4, problems: many.slice(0, 2) });
    await log.close();
    const written = (await readFile(join(dir, 'in.jsonl.invalid.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { problems: unknown[] });
    for (const rows of [log.kept, written]) {
      expect(rows[0]?.problems).toHaveLength(PROBLEMS_PER_ROW);
      expect(rows[0]?.problems.at(-1)).toEqual({
        field: 'row',
        message: `has ${5000 - PROBLEMS_PER_ROW + 1} more problems`,
      });
      expect(rows[1]?.problems).toEqual(many.slice(0, 2));
    }
  });
});
