import { describe, expect, it } from 'vitest';
import {
  NAME_MAX_CHARS,
  describeNonImage,
  fromStoredSource,
  parseMaterialSource,
  sniffImageType,
  toStoredSource,
  validateIdNumber,
  validateName,
  type MaterialSource,
} from '../../src/domain/binding.js';
import { ValidationError } from '../../src/errors.js';

function refusal(f: () => unknown): ValidationError {
  try {
    f();
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error('expected a ValidationError');
}

const PNG_HEAD = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
const LONG_PNG = Buffer.concat([PNG_HEAD, Buffer.alloc(120, 1)]);

describe('parseMaterialSource', () => {
  it.each([
    ['oss://verify-img:rp/a/face.jpg', { kind: 'oss', ref: 'oss://verify-img:rp/a/face.jpg' }],
    ['https://img.example.test/a.jpg', { kind: 'url', url: 'https://img.example.test/a.jpg' }],
    ['/data/applicants/0001/face.jpg', { kind: 'file', path: '/data/applicants/0001/face.jpg' }],
    ['photos/face 1.jpg', { kind: 'file', path: 'photos/face 1.jpg' }],
    ['file:///data/face%201.jpg', { kind: 'file', path: '/data/face 1.jpg' }],
  ])('reads %s', (value, expected) => {
    expect(parseMaterialSource('FacePic', value)).toEqual(expected);
  });

  it('reads bytes with a data: header, as base64://, and as bare base64', () => {
    const b64 = LONG_PNG.toString('base64');
    for (const v of [`data:image/png;base64,${b64}`, `base64://${b64}`, b64]) {
      const s = parseMaterialSource('FacePic', v);
      expect(s.kind === 'bytes' && s.data.equals(LONG_PNG)).toBe(true);
    }
  });

  it.each([
    ['', 'is empty'],
    ['oss://Bad_Bucket/face.jpg', 'expected oss://<bucket>:<path>'],
    ['data:image/png;base64,@@@@', 'is not valid base64'],
    ['https://user:pw@img.example.test/a.jpg', 'must not carry credentials'],
  ])('refuses %j naming the field', (value, why) => {
    const err = refusal(() => parseMaterialSource('Binding.FacePic', value));
    expect(err.field).toBe('Binding.FacePic');
    expect(err.message).toContain(why);
  });
});

describe('image sniffing', () => {
  it('knows JPEG, PNG and BMP by their bytes, and names what else it sees', () => {
    expect(sniffImageType(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toBe('jpeg');
    expect(sniffImageType(PNG_HEAD)).toBe('png');
    expect(sniffImageType(Buffer.concat([Buffer.from('BM'), Buffer.alloc(30)]))).toBe('bmp');
    expect(sniffImageType(Buffer.from('%PDF-1.4'))).toBeUndefined();
    expect(describeNonImage(Buffer.from('%PDF-1.4'))).toBe('it is a PDF, not an image');
    expect(describeNonImage(Buffer.alloc(0))).toBe('the file is empty');
    expect(describeNonImage(Buffer.from('GIF89a'))).toContain('GIF');
  });
});

describe('names and ID numbers', () => {
  it('trims names and keeps middle dots', () => {
    expect(validateName('Name', '  买买提·艾力  ')).toBe('买买提·艾力');
  });

  it.each([
    ['', 'is empty'],
    ['   ', 'is empty'],
    ['李\u0007三', 'control characters'],
    ['名'.repeat(65), 'longer than 64'],
  ])('refuses the name %j', (name, why) => {
    expect(refusal(() => validateName('Name', name)).message).toContain(why);
  });

  it('refuses a non-string name', () => {
    expect(refusal(() => validateName('Name', 42)).message).toBe('Name: must be a string');
  });

  it('upper-cases a valid ID number and refuses the seed sample with its reason, not the number', () => {
    expect(validateIdNumber('IdentificationNumber', '11010519491231002x')).toBe(
      '11010519491231002X',
    );
    const err = refusal(() => validateIdNumber('IdentificationNumber', '630546198009090099'));
    expect(err.field).toBe('IdentificationNumber');
    expect(err.message).toContain('check digit');
    expect(err.message).not.toContain('630546');
  });
});

describe('parseMaterialSource, more closely', () => {
  const b64 = LONG_PNG.toString('base64');
  const bytesOf = (source: MaterialSource) => (source.kind === 'bytes' ? source.data : undefined);

  it('ignores the spaces and line breaks around a value', () => {
    expect(parseMaterialSource('FacePic', '  https://img.example.test/a.jpg \n')).toEqual({
      kind: 'url',
      url: 'https://img.example.test/a.jpg',
    });
    expect(parseMaterialSource('FacePic', '\toss://verify-img:rp/a.jpg ')).toEqual({
      kind: 'oss',
      ref: 'oss://verify-img:rp/a.jpg',
    });
  });

  it('takes http:// as well as https://, in any case, and only at the start', () => {
    expect(parseMaterialSource('FacePic', 'http://img.example.test/a.jpg')).toEqual({
      kind: 'url',
      url: 'http://img.example.test/a.jpg',
    });
    expect(parseMaterialSource('FacePic', 'HTTPS://img.example.test/a.jpg')).toEqual({
      kind: 'url',
      url: 'https://img.example.test/a.jpg',
    });
    expect(parseMaterialSource('FacePic', 'mirror/https://img.example.test/a.jpg')).toEqual({
      kind: 'file',
      path: 'mirror/https://img.example.test/a.jpg',
    });
  });

  it.each([
    ['https://[img.example.test/a.jpg', 'is not a valid URL'],
    ['https://user@img.example.test/a.jpg', 'URL must not carry credentials'],
    ['https://:secret@img.example.test/a.jpg', 'URL must not carry credentials'],
    ['oss://verify-img:rp/a face.jpg', 'expected oss://<bucket>:<path>'],
    ['oss://-bucket:rp/a.jpg', 'expected oss://<bucket>:<path>'],
    ['oss://verify-img', 'expected oss://<bucket>:<path>'],
    ['oss://Bad_Bucket:a.jpg,oss://verify-img:rp/a.jpg', 'expected oss://<bucket>:<path>'],
    ['base64://', 'is not valid base64'],
    ['base64://AAAAA', 'is not valid base64'],
    ['base64://AAA', 'is not valid base64'],
    ['base64://@@@@AAAA', 'is not valid base64'],
    ['base64://AAAA@@@@', 'is not valid base64'],
    ['data:image/png;base64,', 'is not valid base64'],
    ['file:///data/%E0%A4%A', 'is not a valid file:// URL'],
    ['photos/face\0.jpg', 'is not a valid path'],
  ])('refuses %j naming the field and the reason', (value, why) => {
    const err = refusal(() => parseMaterialSource('Binding.FacePic', value));
    expect(err.field).toBe('Binding.FacePic');
    expect(err.message).toBe(`Binding.FacePic: ${why}`);
  });

  it('reads a data: URL with parameters, or with no media type at all', () => {
    for (const header of ['data:image/png;name=face-01.png;base64,', 'data:;base64,']) {
      expect(bytesOf(parseMaterialSource('FacePic', `${header}${b64}`))).toEqual(LONG_PNG);
    }
  });

  it('reads base64 wrapped over several lines', () => {
    const wrapped = (b64.match(/.{1,76}/g) ?? []).join('\r\n');
    expect(wrapped).toContain('\n');
    expect(bytesOf(parseMaterialSource('FacePic', `base64://${wrapped}`))).toEqual(LONG_PNG);
    expect(bytesOf(parseMaterialSource('FacePic', `data:image/png;base64,${wrapped}`))).toEqual(
      LONG_PNG,
    );
  });

  it('takes bare base64 for bytes from 100 characters, and anything shorter for a path', () => {
    const hundred = 'QUJD'.repeat(25);
    expect(bytesOf(parseMaterialSource('FacePic', hundred))).toEqual(Buffer.from('ABC'.repeat(25)));
    expect(parseMaterialSource('FacePic', 'QUJD'.repeat(24))).toEqual({
      kind: 'file',
      path: 'QUJD'.repeat(24),
    });
    expect(parseMaterialSource('FacePic', 'face')).toEqual({ kind: 'file', path: 'face' });
  });

  it('takes a long run of base64 letters that is not whole base64 for a path', () => {
    const odd = 'A'.repeat(101);
    expect(parseMaterialSource('FacePic', odd)).toEqual({ kind: 'file', path: odd });
  });

  it('takes a path that merely contains a data: header for a path', () => {
    const path = `cache/data:image/png;base64,${b64}`;
    expect(parseMaterialSource('FacePic', path)).toEqual({ kind: 'file', path });
  });
});

describe('stored material sources', () => {
  it('keep bytes as base64 and every other source as it is', () => {
    const sources: MaterialSource[] = [
      { kind: 'bytes', data: LONG_PNG },
      { kind: 'file', path: '/data/face.jpg' },
      { kind: 'url', url: 'https://img.example.test/a.jpg' },
      { kind: 'oss', ref: 'oss://verify-img:rp/a.jpg' },
    ];
    expect(toStoredSource(sources[0]!)).toEqual({
      kind: 'bytes',
      base64: LONG_PNG.toString('base64'),
    });
    for (const source of sources) {
      expect(fromStoredSource(toStoredSource(source))).toEqual(source);
    }
    expect(toStoredSource(sources[1]!)).toEqual(sources[1]);
  });
});

describe('image signatures', () => {
  const bytes = (...b: number[]) => Uint8Array.from(b);

  it('knows JPEG by FF D8 FF, all three bytes', () => {
    expect(sniffImageType(bytes(0xff, 0xd8, 0xff))).toBe('jpeg');
    expect(sniffImageType(bytes(0xff, 0xd8))).toBeUndefined();
    expect(sniffImageType(bytes(0x00, 0xd8, 0xff))).toBeUndefined();
    expect(sniffImageType(bytes(0xff, 0x00, 0xff))).toBeUndefined();
    expect(sniffImageType(bytes(0xff, 0xd8, 0x00))).toBeUndefined();
  });

  it('knows PNG by its whole eight-byte signature', () => {
    expect(sniffImageType(PNG_HEAD.subarray(0, 8))).toBe('png');
    expect(sniffImageType(PNG_HEAD.subarray(0, 7))).toBeUndefined();
  });

  it('knows BMP by "BM" and a header of at least 26 bytes', () => {
    const bmp = Buffer.concat([Buffer.from('BM'), Buffer.alloc(24)]);
    expect(sniffImageType(bmp)).toBe('bmp');
    expect(sniffImageType(bmp.subarray(0, 25))).toBeUndefined();
    expect(sniffImageType(Buffer.concat([Buffer.from('BX'), Buffer.alloc(24)]))).toBeUndefined();
    expect(sniffImageType(Buffer.concat([Buffer.from('XM'), Buffer.alloc(24)]))).toBeUndefined();
  });

  it.each([
    ['RIFF\0\0\0\0WEBP', 'RIFF'],
    ['PK\x03\x04', 'ZIP'],
    ['GIF87a', 'GIF'],
    ['\x00\x01\x02', 'not a JPEG, PNG or BMP'],
  ])('names what else it sees: %j', (head, named) => {
    const said = describeNonImage(Buffer.from(head, 'latin1'));
    expect(said).toContain(named);
    for (const other of ['RIFF', 'ZIP', 'GIF', 'PDF'].filter((o) => o !== named)) {
      expect(said).not.toContain(other);
    }
  });
});

describe('names and ID numbers, more closely', () => {
  it(`counts a name's length in characters, not UTF-16 units: ${NAME_MAX_CHARS} fit`, () => {
    const longest = '𠀀'.repeat(NAME_MAX_CHARS);
    expect(validateName('Name', longest)).toBe(longest);
    expect(refusal(() => validateName('Name', `${longest}李`)).message).toBe(
      `Name: is longer than ${NAME_MAX_CHARS} characters`,
    );
  });

  it('trims and upper-cases an ID number, and refuses a non-string', () => {
    expect(validateIdNumber('IdentificationNumber', ' 11010519491231002x\n')).toBe(
      '11010519491231002X',
    );
    expect(refusal(() => validateIdNumber('IdentificationNumber', 42)).message).toBe(
      'IdentificationNumber: must be a string',
    );
  });
});
