import { describe, expect, it } from 'vitest';
import { checkIdNumber, idNumberCheckChar } from '../../src/domain/id-number.js';
import { maskIdNumber, maskName } from '../../src/domain/mask.js';

describe('checkIdNumber (GB 11643-1999)', () => {
  it.each([
    ['11010519491231002X', 'f'],
    ['11010519491231002x', 'f'],
    ['372321199103099416', 'm'],
    ['410381198312056511', 'm'],
    ['110101199003070011', 'm'],
    ['630546198009090090', 'm'],
  ])('accepts %s', (id, sex) => {
    expect(checkIdNumber(id, '20261128')).toMatchObject({ ok: true, sex });
  });

  it('refuses the seed samples: 630546198009090099 on its check digit', () => {
    expect(checkIdNumber('630546198009090099', '20261128')).toMatchObject({
      ok: false,
      problem: 'checksum',
    });
    expect(idNumberCheckChar('63054619800909009')).toBe('0');
  });

  it('refuses the seed sample 584129192830192233 (province 58 unassigned, month 30, check digit)', () => {
    expect(checkIdNumber('584129192830192233', '20261128')).toMatchObject({
      ok: false,
      problem: 'region',
    });
    expect(checkIdNumber('114129192830192233', '20261128')).toMatchObject({
      ok: false,
      problem: 'birth_date',
    });
    expect(idNumberCheckChar('58412919283019223')).toBe('7');
  });

  it('refuses the official sample 330110201711110101 on its check digit', () => {
    expect(checkIdNumber('330110201711110101', '20261128')).toMatchObject({
      ok: false,
      problem: 'checksum',
    });
  });

  it.each([
    ['too short', '1101051949123100', 'format'],
    ['letters inside', '11010519491231A02X', 'format'],
    ['a future birth date', '110105203001010011', 'birth_date'],
    ['29 February of a common year', '110105190102290011', 'birth_date'],
  ])('refuses %s', (_what, id, problem) => {
    expect(checkIdNumber(id, '20261128')).toMatchObject({ ok: false, problem });
  });

  it('never repeats the number in its message', () => {
    const r = checkIdNumber('630546198009090099', '20261128');
    expect(r.ok ? '' : r.message).not.toContain('630546');
  });
});

describe('masking', () => {
  it('keeps the first character of a name and the ends of an ID number', () => {
    expect(maskName('李三')).toBe('李*');
    expect(maskName('欧阳娜娜')).toBe('欧***');
    expect(maskIdNumber('630546198009090090')).toBe('6305**********0090');
    expect(maskIdNumber('1234')).toBe('****');
  });
});
