/**
 * Following an XML part's nesting as it streams (`XmlDepth`): opening, closing and self-closing
 * tags, with what can hide a `<` or a `/>` (quoted attribute values, comments, CDATA, processing
 * instructions, declarations), the same whichever chunks the text arrives in; a part nesting past
 * the limit is refused, and hiding closing tags in a comment does not get it through.
 */
import { describe, expect, it } from 'vitest';
import { XML_MAX_DEPTH, XmlDepth, XmlTooDeepError } from '../../src/cli/xml-depth.js';

/** Feeds `parts` in order; answers the depth after each. */
function depths(parts: readonly string[]): number[] {
  const xml = new XmlDepth();
  return parts.map((part) => {
    xml.feed(part);
    return xml.depth;
  });
}

const SAMPLE =
  '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' +
  '<worksheet xmlns="urn:x"><!-- a <comment> with </tags> -->' +
  '<sheetData><row r="1" a=\'/>\' b="x>y"><c r="A1" t="inlineStr"><is><t>王芳 &lt;b&gt;</t></is></c>' +
  '<c r="B1"/><c r="C1" s="/"/></row><row r="2"><c><v><![CDATA[ <x><y> ]]></v></c></row>' +
  '<row r="3" q="a/">';

describe('XmlDepth', () => {
  it('follows opening, closing and self-closing tags, past what hides a < or a />', () => {
    // worksheet, sheetData, row 3 still open
    expect(depths([SAMPLE])).toEqual([3]);
    expect(depths(['<a>', '<b/>', '<c x="/>">', '</c>', '</a>'])).toEqual([1, 1, 2, 1, 0]);
    expect(depths(['<!DOCTYPE x>', '<?pi <a> ?>', '<a><!-- <b> --></a>'])).toEqual([0, 0, 0]);
  });

  it('ends at the same depth whichever two chunks the text arrives in', () => {
    for (let cut = 0; cut <= SAMPLE.length; cut++) {
      expect([cut, depths([SAMPLE.slice(0, cut), SAMPLE.slice(cut)])[1]]).toEqual([cut, 3]);
    }
    // and one character at a time
    expect(depths([...SAMPLE]).at(-1)).toBe(3);
  });

  it('refuses nesting past the limit, and closing tags inside a comment or CDATA do not count', () => {
    const deep = '<x>'.repeat(XML_MAX_DEPTH);
    expect(depths([deep])).toEqual([XML_MAX_DEPTH]);
    expect(() => depths([deep, '<x>'])).toThrow(XmlTooDeepError);
    expect(() => depths([deep, '<!-- </x></x> -->', '<x>'])).toThrow(XmlTooDeepError);
    expect(() => depths([deep, '<![CDATA[ </x> ]]>', '<x>'])).toThrow(XmlTooDeepError);
    expect(() => depths([deep, '<y a="</x>">'])).toThrow(XmlTooDeepError);
    // siblings are not nesting
    expect(depths(['<a>', '<b></b>'.repeat(10_000), '</a>'])).toEqual([1, 1, 0]);
  });
});
