import { afterEach, describe, expect, it, vi } from 'vitest';
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

  it.each([
    ['format', '1101051949123100'],
    ['region', '991234567890123456'],
    ['birth_date', '110105203001010011'],
    ['checksum', '630546198009090099'],
  ])('explains a %s refusal without quoting the number', (problem, id) => {
    const r = checkIdNumber(id, '20261128');
    expect(r).toMatchObject({ ok: false, problem });
    const message = r.ok ? '' : r.message;
    expect(message.length).toBeGreaterThan(10);
    expect(message).not.toContain(id.slice(0, 6));
    expect(message).not.toContain(id.slice(-4));
  });

  it('refuses a valid number with anything before or after it', () => {
    expect(checkIdNumber('11010519491231002X', '20261128').ok).toBe(true);
    for (const id of ['11010519491231002X1', '111010519491231002X', ' 11010519491231002X']) {
      expect(checkIdNumber(id, '20261128')).toMatchObject({ ok: false, problem: 'format' });
    }
  });

  it('accepts birth dates from 1 January 1890 up to today, and refuses those outside', () => {
    const withBirth = (birth: string) => {
      const first17 = `110105${birth}001`;
      return `${first17}${idNumberCheckChar(first17)}`;
    };
    expect(checkIdNumber(withBirth('18900101'), '20261128').ok).toBe(true);
    expect(checkIdNumber(withBirth('18891231'), '20261128')).toMatchObject({
      problem: 'birth_date',
    });
    expect(checkIdNumber(withBirth('20261128'), '20261128').ok).toBe(true);
    expect(checkIdNumber(withBirth('20261129'), '20261128')).toMatchObject({
      problem: 'birth_date',
    });
  });

  it('refuses dates that do not exist in the calendar', () => {
    for (const birth of ['19491232', '19491301', '19490230', '19490100', '19490015']) {
      const first17 = `110105${birth}001`;
      const id = `${first17}${idNumberCheckChar(first17)}`;
      expect(checkIdNumber(id, '20261128')).toMatchObject({ ok: false, problem: 'birth_date' });
    }
  });

  describe('without a date for today', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it("bounds the birth date by today's date in UTC", () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(new Date('2026-11-28T23:30:00Z'));
      const withBirth = (birth: string) => {
        const first17 = `110105${birth}001`;
        return `${first17}${idNumberCheckChar(first17)}`;
      };
      expect(checkIdNumber(withBirth('20260101')).ok).toBe(true);
      expect(checkIdNumber(withBirth('20261128')).ok).toBe(true);
      expect(checkIdNumber(withBirth('20261129'))).toMatchObject({ problem: 'birth_date' });
      expect(checkIdNumber(withBirth('20270101'))).toMatchObject({ problem: 'birth_date' });
    });
  });

  it('reads the sex from the parity of the 17th digit', () => {
    const withSequence = (sequence: string) => {
      const first17 = `11010519491231${sequence}`;
      return `${first17}${idNumberCheckChar(first17)}`;
    };
    expect(checkIdNumber(withSequence('001'), '20261128')).toMatchObject({ sex: 'm' });
    expect(checkIdNumber(withSequence('002'), '20261128')).toMatchObject({ sex: 'f' });
    expect(checkIdNumber(withSequence('010'), '20261128')).toMatchObject({
      sex: 'f',
      birthDate: '19491231',
    });
  });
});

describe('idNumberCheckChar', () => {
  it('takes exactly 17 digits, and throws a RangeError for anything else', () => {
    expect(idNumberCheckChar('11010519491231002')).toBe('X');
    for (const text of [
      '1101051949123100',
      '110105194912310020',
      'A1101051949123100',
      '1101051949123100A',
      ' 1101051949123100',
      '',
    ]) {
      expect(() => idNumberCheckChar(text), JSON.stringify(text)).toThrow(
        new RangeError('idNumberCheckChar: expected 17 digits'),
      );
    }
  });
});

describe('masking', () => {
  it('keeps the first character of a name and the ends of an ID number', () => {
    expect(maskName('李三')).toBe('李*');
    expect(maskName('欧阳娜娜')).toBe('欧***');
    expect(maskIdNumber('630546198009090090')).toBe('6305**********0090');
    expect(maskIdNumber('1234')).toBe('****');
  });

  it('shows at least one star, and ignores the spaces around a name', () => {
    expect(maskName('李')).toBe('李*');
    expect(maskName('  李三 ')).toBe('李*');
    expect(maskName('')).toBe('');
    expect(maskName('   ')).toBe('');
  });

  it('hides the whole of an ID number too short to keep eight characters of it', () => {
    expect(maskIdNumber('12345678')).toBe('********');
    expect(maskIdNumber('123456789')).toBe('1234*6789');
    expect(maskIdNumber('')).toBe('');
  });
});
