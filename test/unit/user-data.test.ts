import { describe, expect, it } from 'vitest';
import {
  USERDATA_MAX_BYTES,
  USERDATA_MAX_DEPTH,
  nestsDeeperThan,
  userDataProblem,
} from '../../src/domain/user-data.js';

/** `levels` arrays inside one another, the innermost holding `leaf`. */
function nestedArrays(levels: number, leaf: unknown = 1): unknown {
  let value: unknown = [leaf];
  for (let i = 1; i < levels; i++) value = [value];
  return value;
}

/** `levels` objects inside one another, the innermost holding `leaf`. */
function nestedObjects(levels: number, leaf: unknown = 1): unknown {
  let value: unknown = { leaf };
  for (let i = 1; i < levels; i++) value = { inner: value };
  return value;
}

/** `target` behind a proxy that counts how many of its entries are read. */
function countingReads<T extends object>(target: T): { value: T; reads: () => number } {
  let reads = 0;
  const value = new Proxy(target, {
    get(t, key, receiver) {
      if (typeof key === 'string' && key !== 'length') reads++;
      return Reflect.get(t, key, receiver) as unknown;
    },
  });
  return { value, reads: () => reads };
}

const DEPTH = `nests objects or arrays more than ${USERDATA_MAX_DEPTH} levels deep`;
const SIZE = `is over ${USERDATA_MAX_BYTES} bytes as JSON`;

describe('nestsDeeperThan', () => {
  it('counts a lone object or array as one level, and leaves as none', () => {
    expect(nestsDeeperThan({}, 1)).toBe(false);
    expect(nestsDeeperThan([], 1)).toBe(false);
    expect(nestsDeeperThan([[]], 1)).toBe(true);
    expect(nestsDeeperThan('text', 0)).toBe(false);
    expect(nestsDeeperThan(null, 0)).toBe(false);
  });

  it.each([
    ['arrays', nestedArrays],
    ['objects', nestedObjects],
  ])('allows %s exactly maxDepth levels deep and no deeper', (_, nested) => {
    expect(nestsDeeperThan(nested(8), 8)).toBe(false);
    expect(nestsDeeperThan(nested(9), 8)).toBe(true);
  });

  it('does not count null, strings or numbers as levels', () => {
    for (const leaf of [null, 'text', 7, true]) {
      expect(nestsDeeperThan(nestedArrays(3, leaf), 3)).toBe(false);
      expect(nestsDeeperThan(nestedObjects(3, leaf), 3)).toBe(false);
    }
  });

  it('finds the deep branch beside shallow ones, however wide the value', () => {
    const wide = { a: 1, b: [2, 3], c: { d: nestedArrays(7) }, e: 'end' };
    expect(nestsDeeperThan(wide, 9)).toBe(false);
    expect(nestsDeeperThan(wide, 8)).toBe(true);
    expect(nestsDeeperThan({ a: [[[[[[[1]]]]]]] }, 8)).toBe(false);
    expect(nestsDeeperThan({ a: [[[[[[[[1]]]]]]]] }, 8)).toBe(true);
  });

  it('answers a cycle of objects or of arrays without walking it forever', () => {
    const loop: Record<string, unknown> = { a: 1 };
    loop.self = loop;
    const ring: unknown[] = [1];
    ring.push(ring);
    expect(nestsDeeperThan(loop, 8)).toBe(true);
    expect(nestsDeeperThan(ring, 8)).toBe(true);
  });

  it('ignores size: a wide shallow value is not deep', () => {
    expect(nestsDeeperThan({ s: 'x'.repeat(USERDATA_MAX_BYTES * 2) }, 1)).toBe(false);
  });
});

describe('userDataProblem', () => {
  it('accepts an ordinary object, and an empty one', () => {
    expect(userDataProblem({ orderId: 'A-1', tags: ['x', 'y'], amount: 12.5, vip: false })).toBe(
      undefined,
    );
    expect(userDataProblem({})).toBeUndefined();
  });

  it(`uses ${USERDATA_MAX_DEPTH} levels and ${USERDATA_MAX_BYTES} bytes by default`, () => {
    expect(userDataProblem(nestedObjects(USERDATA_MAX_DEPTH))).toBeUndefined();
    expect(userDataProblem(nestedObjects(USERDATA_MAX_DEPTH + 1))).toBe(DEPTH);
    expect(userDataProblem(nestedArrays(USERDATA_MAX_DEPTH + 1))).toBe(DEPTH);
    // {"s":"…"} is the string plus 8 bytes.
    expect(userDataProblem({ s: 'x'.repeat(USERDATA_MAX_BYTES - 8) })).toBeUndefined();
    expect(userDataProblem({ s: 'x'.repeat(USERDATA_MAX_BYTES - 7) })).toBe(SIZE);
  });

  it('names the limits it was given', () => {
    const limits = { maxDepth: 2, maxBytes: 10 };
    expect(userDataProblem([[[1]]], limits)).toBe(
      'nests objects or arrays more than 2 levels deep',
    );
    expect(userDataProblem(['0123456789'], limits)).toBe('is over 10 bytes as JSON');
  });

  it.each([
    ['a string', 'abc'],
    ['a number', 12345],
    ['true', true],
    ['null', null],
    ['an empty array', []],
    ['an array of one string', ['abc']],
    ['an array', [1, 2, 3]],
    ['an array of strings', ['ab', 'cd']],
    ['an array of literals', [true, false, null]],
    ['an object', { a: 'b' }],
    ['an object of several keys', { a: 1, bb: [2], ccc: { d: null } }],
    ['text of several bytes per character', { name: '张三' }],
  ])('accepts %s of exactly maxBytes of JSON, and refuses it one byte smaller', (_, value) => {
    const bytes = Buffer.byteLength(JSON.stringify(value), 'utf8');
    expect(userDataProblem(value, { maxDepth: 8, maxBytes: bytes })).toBeUndefined();
    expect(userDataProblem(value, { maxDepth: 8, maxBytes: bytes - 1 })).toBe(
      `is over ${bytes - 1} bytes as JSON`,
    );
  });

  it.each([
    ['undefined', { gone: undefined }],
    ['a function', { gone: () => 1 }],
    ['a symbol', { gone: Symbol('s') }],
  ])('does not count a property of %s, which JSON leaves out', (_, value) => {
    expect(userDataProblem(value, { maxDepth: 8, maxBytes: 2 })).toBeUndefined();
  });

  it('does not count inherited properties, which JSON leaves out', () => {
    const value = Object.create({ inherited: 'x'.repeat(100) }) as object;
    expect(userDataProblem(value, { maxDepth: 8, maxBytes: 2 })).toBeUndefined();
  });

  it('refuses what JSON cannot carry', () => {
    expect(userDataProblem({ n: 1n })).toBe('is not JSON');
    expect(userDataProblem(undefined)).toBe('is not JSON');
    expect(userDataProblem(() => 1)).toBe('is not JSON');
  });

  it('refuses a cycle as too deep, or as too big when depth is unlimited', () => {
    const loop: Record<string, unknown> = { a: 'b' };
    loop.self = loop;
    const ring: unknown[] = ['b'];
    ring.push(ring);
    expect(userDataProblem(loop)).toBe(DEPTH);
    expect(userDataProblem(ring)).toBe(DEPTH);
    const unlimited = { maxDepth: Infinity, maxBytes: 100 };
    expect(userDataProblem(loop, unlimited)).toBe('is over 100 bytes as JSON');
    expect(userDataProblem(ring, unlimited)).toBe('is over 100 bytes as JSON');
  });

  it('refuses a value past the size before walking the containers it has not reached', () => {
    expect(userDataProblem([nestedArrays(20), 'x'.repeat(USERDATA_MAX_BYTES)])).toBe(SIZE);
    expect(userDataProblem({ deep: nestedObjects(20), s: 'x'.repeat(USERDATA_MAX_BYTES) })).toBe(
      SIZE,
    );
  });

  // The walk stops once a lower bound of the JSON read so far is past maxBytes: each container
  // counts its brackets, each property its quoted key and colon, each string its characters and
  // quotes, true/false/null four bytes and a number one.
  const maxBytes = 1000;
  it.each([
    ['numbers', 0, 1],
    ['strings', 'abc', 5],
    ['true', true, 4],
    ['false', false, 4],
    ['null', null, 4],
  ])('reads about maxBytes / (bytes of each) entries of a wide array of %s', (_, entry, each) => {
    const wide = countingReads(Array.from({ length: 100_000 }, () => entry));
    expect(userDataProblem(wide.value, { maxDepth: 8, maxBytes })).toBe(
      `is over ${maxBytes} bytes as JSON`,
    );
    expect(wide.reads()).toBeLessThanOrEqual(Math.ceil(maxBytes / each) + 1);
  });

  it.each([
    ['arrays', () => []],
    ['objects', () => ({})],
  ])('enters about maxBytes / 2 of a wide array of empty %s', (_, empty) => {
    let entered = 0;
    const counting: ProxyHandler<object> = {
      ownKeys(t) {
        entered++;
        return Reflect.ownKeys(t);
      },
      get(t, key, receiver) {
        if (key === 'length') entered++;
        return Reflect.get(t, key, receiver) as unknown;
      },
    };
    const wide = Array.from({ length: 100_000 }, () => new Proxy(empty(), counting));
    expect(userDataProblem(wide, { maxDepth: 8, maxBytes })).toBe(
      `is over ${maxBytes} bytes as JSON`,
    );
    expect(entered).toBeLessThanOrEqual(maxBytes / 2 + 1);
  });

  it('reads about maxBytes / 2 entries of an array of a million empty arrays', () => {
    // Three bytes an entry: 3 MB of JSON, which an HTTP request carries to this check under the
    // 16 MB default of API_BODY_LIMIT_BYTES.
    const parsed = JSON.parse(`{"wide":[${'[],'.repeat(999_999)}[]]}`) as { wide: unknown[] };
    expect(parsed.wide).toHaveLength(1_000_000);
    const entries = countingReads(parsed.wide);
    expect(userDataProblem({ wide: entries.value })).toBe(SIZE);
    expect(entries.reads()).toBeLessThanOrEqual(USERDATA_MAX_BYTES / 2 + 1);
  });

  it('reads about maxBytes / (bytes of each) properties of a wide object', () => {
    const record: Record<string, number> = {};
    for (let i = 0; i < 100_000; i++) record[`k${String(i).padStart(5, '0')}`] = 0;
    const wide = countingReads(record);
    expect(userDataProblem(wide.value, { maxDepth: 8, maxBytes })).toBe(
      `is over ${maxBytes} bytes as JSON`,
    );
    // "k00000":0 is ten bytes.
    expect(wide.reads()).toBeLessThanOrEqual(Math.ceil(maxBytes / 10) + 1);
  });
});
