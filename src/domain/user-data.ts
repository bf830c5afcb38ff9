/**
 * `UserData`: a JSON object the producer attaches to a ticket, stored encrypted and echoed back by
 * Cloudauth. It is bounded in depth and size so that nothing downstream (the payload fingerprint,
 * the store's encryption, the provider call) ever walks an unbounded structure. Pure; no I/O.
 */

/** Most levels of objects and arrays in a `UserData`, counting the `UserData` object itself. */
export const USERDATA_MAX_DEPTH = 8;

/** Largest `UserData`, in bytes of its JSON text (UTF-8). */
export const USERDATA_MAX_BYTES = 8 * 1024;

/** Limits of a JSON value: levels of objects and arrays (a lone object is one), bytes of JSON. */
export interface JsonLimits {
  maxDepth: number;
  maxBytes: number;
}

/** Types `JSON.stringify` leaves out of an object. */
const OMITTED = new Set(['undefined', 'function', 'symbol']);

/**
 * JSON bytes a value takes at least, leaving out what a container holds: its brackets, a string's
 * quotes and characters (its UTF-16 length never exceeds its UTF-8 bytes), four for true, false or
 * null, one for anything else.
 */
function ownBytes(value: unknown): number {
  if (typeof value === 'string') return value.length + 2;
  if (typeof value === 'boolean' || value === null) return 4;
  return typeof value === 'object' ? 2 : 1;
}

/**
 * Which limit `value` is over, found without recursion and stopping at the first container past
 * the depth or once a lower bound of its JSON size is past the size. A container's brackets count
 * when it is met, not when it is entered, so that a wide array of empty arrays stops the walk as
 * soon as a wide array of numbers does: any depth, width or a cycle is answered after reading at
 * most about `maxBytes` entries and holding at most about `maxBytes / 2` containers to enter.
 * (`for…in` has the engine list all of an object's keys before the first: native work linear in
 * the width of a wide object, as parsing it was, and about half as long.)
 */
function overLimit(value: unknown, limits: JsonLimits): 'depth' | 'size' | undefined {
  const stack: { value: object; depth: number }[] = [];
  let bytes = 0;
  const visit = (child: unknown, depth: number) => {
    bytes += ownBytes(child);
    if (child !== null && typeof child === 'object') stack.push({ value: child, depth });
  };
  visit(value, 1);
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    if (item.depth > limits.maxDepth) return 'depth';
    if (Array.isArray(item.value)) {
      for (let i = 0; i < item.value.length && bytes <= limits.maxBytes; i++) {
        visit(item.value[i], item.depth + 1);
      }
    } else {
      const record = item.value as Record<string, unknown>;
      for (const key in record) {
        if (bytes > limits.maxBytes) break;
        const child = record[key];
        if (!Object.hasOwn(record, key) || OMITTED.has(typeof child)) continue;
        bytes += key.length + 3;
        visit(child, item.depth + 1);
      }
    }
    if (bytes > limits.maxBytes) return 'size';
  }
  // A lone leaf past the size is left to the exact measure.
  return undefined;
}

/**
 * Whether `value` nests objects or arrays more than `maxDepth` levels deep (a lone object is one
 * level). Iterative, and stops at the first container past the limit.
 */
export function nestsDeeperThan(value: unknown, maxDepth: number): boolean {
  return overLimit(value, { maxDepth, maxBytes: Infinity }) === 'depth';
}

/**
 * Why `value` cannot be a `UserData` (a message for the field, never quoting the value), or
 * undefined when it can. The exact size is measured only of a value already known to be shallow
 * and about the size allowed.
 */
export function userDataProblem(
  value: unknown,
  limits: JsonLimits = { maxDepth: USERDATA_MAX_DEPTH, maxBytes: USERDATA_MAX_BYTES },
): string | undefined {
  const over = overLimit(value, limits);
  const tooBig = `is over ${limits.maxBytes} bytes as JSON`;
  if (over === 'depth') return `nests objects or arrays more than ${limits.maxDepth} levels deep`;
  if (over === 'size') return tooBig;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    // A BigInt, or a toJSON that throws: not JSON, as is a value JSON.stringify leaves out.
  }
  if (text === undefined) return 'is not JSON';
  return Buffer.byteLength(text) > limits.maxBytes ? tooBig : undefined;
}
