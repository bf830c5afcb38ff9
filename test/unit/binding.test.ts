import { describe, expect, it } from 'vitest';
import {
  describeNonImage,
  parseMaterialSource,
  sniffImageType,
  validateIdNumber,
  validateName,
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
