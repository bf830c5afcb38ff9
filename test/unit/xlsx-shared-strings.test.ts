/**
 * The workbook's shared-strings table held as UTF-8 bytes (`SharedStrings`): every text comes back
 * as it went in, through growth of both its buffers, as exceljs's worksheet reader reads it
 * (`table[index]`); an index past the end reads as a value `cellText` refuses, never as empty; the
 * memory it holds is about its texts' bytes. Reading real workbooks through it is
 * `cli-input-xlsx.test.ts` (rich text, 6,000 names across inflated chunks, inline strings).
 */
import { describe, expect, it } from 'vitest';
import { cellText } from '../../src/cli/xlsx-rows.js';
import { SharedStrings } from '../../src/cli/xlsx-shared-strings.js';

describe('SharedStrings', () => {
  it('gives back every text as added, through the growth of its buffers', () => {
    const table = new SharedStrings();
    // Chinese names (3 bytes a character in UTF-8), a character outside the BMP (4 bytes, a
    // surrogate pair in JavaScript), ASCII IDs, empty texts; 20,000 of them and over 64 KiB
    const texts = Array.from({ length: 20_000 }, (_, i) =>
      i % 7 === 0
        ? ''
        : i % 3 === 0
          ? `𠀀欧阳娜娜${i}`
          : i % 2 === 0
            ? `王芳${i}`
            : `1101051949${i}`,
    );
    texts.forEach((text) => table.add(text));
    expect(table.size).toBe(texts.length);
    expect(texts.map((_, i) => table.get(i))).toEqual(texts);
    const view = table.indexable();
    expect([0, 1, 3, 19_999].map((i) => view[i])).toEqual([0, 1, 3, 19_999].map((i) => texts[i]));
  });

  it("takes exceljs's emitted entries: plain, empty, and rich text as its runs' text", () => {
    const table = new SharedStrings();
    table.addEmitted({ index: 0, text: '王芳' });
    table.addEmitted({ index: 1, text: null });
    table.addEmitted({
      index: 2,
      text: { richText: [{ text: '欧阳' }, { text: undefined }, { text: '娜娜' }] },
    });
    table.addEmitted({ index: 3, text: { richText: [] } });
    expect([0, 1, 2, 3].map((i) => table.get(i))).toEqual(['王芳', '', '欧阳娜娜', '']);
    // out of order: the table would answer the wrong text for every later index
    expect(() => table.addEmitted({ index: 5, text: 'x' })).toThrow(/came where 4 was expected/);
  });

  it('answers an index past its end with a value cellText refuses, not an empty cell', () => {
    const table = new SharedStrings();
    table.add('王芳');
    const view = table.indexable();
    expect(view[0]).toBe('王芳');
    expect(view[1]).toEqual({ sharedString: 1 });
    expect(cellText(view[1], 'Name')).toEqual({ problem: 'holds a value that is not text' });
    expect(table.get(-1)).toBeUndefined();
    expect(table.get(0.5)).toBeUndefined();
  });

  it('holds about its texts’ bytes: at most twice them, and 8 bytes a text, whatever they are', () => {
    const table = new SharedStrings();
    let utf8 = 0;
    for (let i = 0; i < 100_000; i++) {
      const text = `欧阳娜娜${i}`;
      utf8 += Buffer.byteLength(text);
      table.add(text);
    }
    expect(table.heldBytes).toBeLessThanOrEqual(2 * utf8 + 8 * table.size);
  });
});
