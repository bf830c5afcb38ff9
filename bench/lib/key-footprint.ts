/**
 * What a set of Redis keys takes, key by key: `MEMORY USAGE … SAMPLES 0` (every element, not an
 * estimate from a sample) summed over every key of a private Redis, by kind of key, with the shape
 * of a few sample keys (encoding, the length of each hash field) and the events of a BullMQ event
 * stream by name, to say where the bytes go. Values are read here and never kept or shown: only
 * key names, field names and lengths leave.
 *
 * `INFO memory` does not serve for a few tickets: `used_memory` (and `used_memory_dataset`) move
 * by hundreds of kilobytes with the Lua script cache and the clients' buffers, more than the keys
 * of twenty tickets take.
 *
 * What some items add ({@link perItemGrowth}): the keys each item owns count whole; a shared key
 * (an index, the wait list, the event stream) counts at its average bytes per element times the
 * elements added, because streams and lists grow by whole nodes (4 KB, 8 KB), and over twenty
 * items one new node would land on one side of a comparison or the other by chance.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';

/** Kinds of key, first match wins; the others are `shared`. */
export type KeyKinds = readonly (readonly [kind: string, pattern: RegExp])[];

/** A sample key's encoding and, for a hash, each field's value length in bytes. */
export interface KeyShape {
  type: string;
  encoding: string | null;
  bytes: number;
  fieldBytes?: Record<string, number>;
}

/** A key no single item owns: its bytes and its elements (entries, members, fields; 1 for a string). */
export interface SharedKey {
  bytes: number;
  elements: number;
}

/** Every key's bytes at one moment. */
export interface KeyFootprint {
  /** Sum of MEMORY USAGE over every key. */
  bytes: number;
  keys: number;
  /** Bytes by kind of key. */
  byKind: Record<string, number>;
  /** The `shared` keys (no single item's). */
  shared: Record<string, SharedKey>;
  samples: Record<string, KeyShape>;
  /** Entries of each given event stream, by event name. */
  events: Record<string, Record<string, number>>;
}

/** What to look at besides the totals. */
export interface FootprintProbes {
  /** Name → key whose shape to show. */
  samples?: Readonly<Record<string, string>>;
  /** BullMQ `<queue>:events` streams whose entries to count by event name. */
  eventStreams?: readonly string[];
}

/** A pattern matching `text` literally. */
export function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Sums MEMORY USAGE over every key (SCAN), by kind. */
export async function keyFootprint(
  redis: Redis,
  kinds: KeyKinds,
  probes: FootprintProbes = {},
): Promise<KeyFootprint> {
  const out: KeyFootprint = { bytes: 0, keys: 0, byKind: {}, shared: {}, samples: {}, events: {} };
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    const pipeline = redis.pipeline();
    for (const key of batch) pipeline.memory('USAGE', key, 'SAMPLES', 0);
    const answers = (await pipeline.exec()) ?? [];
    batch.forEach((key, i) => {
      const bytes = Number(answers[i]?.[1] ?? 0);
      const kind = kinds.find(([, pattern]) => pattern.test(key))?.[0] ?? 'shared';
      out.byKind[kind] = (out.byKind[kind] ?? 0) + bytes;
      if (kind === 'shared') out.shared[key] = { bytes, elements: 0 };
      out.bytes += bytes;
      out.keys++;
    });
  } while (cursor !== '0');
  out.shared = await withElements(redis, out.shared);
  for (const [name, key] of Object.entries(probes.samples ?? {})) {
    out.samples[name] = await keyShape(redis, key);
  }
  for (const key of probes.eventStreams ?? []) out.events[key] = await eventCounts(redis, key);
  return out;
}

const LENGTH_BY_TYPE: Readonly<Record<string, 'llen' | 'zcard' | 'xlen' | 'hlen' | 'scard'>> = {
  list: 'llen',
  zset: 'zcard',
  stream: 'xlen',
  hash: 'hlen',
  set: 'scard',
};

/** The keys, sorted by name, with their element counts. */
async function withElements(
  redis: Redis,
  keys: Record<string, SharedKey>,
): Promise<Record<string, SharedKey>> {
  const names = Object.keys(keys).sort((a, b) => a.localeCompare(b));
  const types = await Promise.all(names.map((key) => redis.type(key)));
  const lengths = await Promise.all(
    names.map((key, i) => {
      const command = LENGTH_BY_TYPE[types[i] ?? ''];
      return command === undefined ? Promise.resolve(1) : redis[command](key);
    }),
  );
  return Object.fromEntries(
    names.map((key, i) => [key, { bytes: keys[key]?.bytes ?? 0, elements: lengths[i] ?? 0 }]),
  );
}

async function keyShape(redis: Redis, key: string): Promise<KeyShape> {
  const [type, encoding, bytes] = await Promise.all([
    redis.type(key),
    redis.object('ENCODING', key),
    redis.memory('USAGE', key, 'SAMPLES', 0),
  ]);
  const shape: KeyShape = { type, encoding: encoding as string | null, bytes: Number(bytes ?? 0) };
  if (type !== 'hash') return shape;
  const fields = await redis.hgetallBuffer(key);
  shape.fieldBytes = Object.fromEntries(
    Object.entries(fields)
      .map(([field, value]) => [field, value.length] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
  return shape;
}

/** A BullMQ event stream's entries by their `event` field. */
async function eventCounts(redis: Redis, key: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const [, fields] of await redis.xrange(key, '-', '+')) {
    const at = fields.indexOf('event');
    const name = at >= 0 && at % 2 === 0 ? (fields[at + 1] ?? '?') : '?';
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

/** What one shared key grew by: its average bytes per element times the elements added. */
function sharedGrowth(after: SharedKey | undefined, before: SharedKey | undefined): number {
  if (after === undefined || before === undefined || after.elements === 0) {
    return (after?.bytes ?? 0) - (before?.bytes ?? 0);
  }
  return (after.bytes / after.elements) * (after.elements - before.elements);
}

/**
 * What `after` holds beyond `before`, per item: the owned kinds exactly, the shared keys by
 * elements added (see the module comment); keys that went count negative.
 */
export function perItemGrowth(after: KeyFootprint, before: KeyFootprint, items: number) {
  const byKind: Record<string, number> = {};
  for (const kind of new Set([...Object.keys(after.byKind), ...Object.keys(before.byKind)])) {
    if (kind === 'shared') continue;
    byKind[kind] = ((after.byKind[kind] ?? 0) - (before.byKind[kind] ?? 0)) / items;
  }
  const shared: Record<string, number> = {};
  for (const key of new Set([...Object.keys(after.shared), ...Object.keys(before.shared)])) {
    const grew = sharedGrowth(after.shared[key], before.shared[key]) / items;
    if (Math.round(grew) !== 0) shared[key] = Math.round(grew);
    byKind.shared = (byKind.shared ?? 0) + grew;
  }
  const bytes = Object.values(byKind).reduce((a, b) => a + b, 0);
  return {
    bytes,
    keys: Math.round(((after.keys - before.keys) / items) * 100) / 100,
    byKind: Object.fromEntries(Object.entries(byKind).map(([k, v]) => [k, Math.round(v)])),
    shared: Object.fromEntries(Object.entries(shared).sort(([a], [b]) => a.localeCompare(b))),
  };
}

/** The regular files under `dir` (temp files included) and their bytes; none when it is absent. */
export async function filesUnder(dir: string): Promise<{ files: number; bytes: number }> {
  const out = { files: 0, bytes: 0 };
  const walk = async (path: string): Promise<void> => {
    const entries = await readdir(path, { withFileTypes: true }).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    });
    for (const entry of entries) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) {
        out.files++;
        out.bytes += (await lstat(full)).size;
      }
    }
  };
  await walk(dir);
  return out;
}
