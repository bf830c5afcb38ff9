/**
 * What the leak scans share (`secrets-scan`, `personal-data-scan`): every value under a Redis key
 * pattern read whatever its type, every file under a directory, and the text forms a name takes
 * when it is percent-encoded or \u-escaped on its way into a URL, a log line or JSON.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Redis } from 'ioredis';

/** One place searched: where it is, and its bytes as stored. */
export interface ByteHaystack {
  where: string;
  bytes: Buffer;
}

/** A value searched for, by the label a report names it with (never the value itself). */
export interface TextNeedle {
  label: string;
  value: string;
}

/** Every key matching `match` (SCAN). */
export async function allKeys(redis: Redis, match: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out;
}

/**
 * Every value under `match`, read by its TYPE as bytes: a string whole, a hash field by field, the
 * members of a list, set or sorted set, the fields and values of a stream's entries. Key names
 * and hash field names are places too: a name can leak into either.
 */
export async function redisValues(redis: Redis, match: string): Promise<ByteHaystack[]> {
  const out: ByteHaystack[] = [];
  for (const key of await allKeys(redis, match)) {
    out.push({ where: `redis key name ${key}`, bytes: Buffer.from(key, 'utf8') });
    const type = await redis.type(key);
    const members = (values: Buffer[]) =>
      values.forEach((bytes, i) => out.push({ where: `redis ${key} (${type}) #${i}`, bytes }));
    switch (type) {
      case 'string':
        out.push({ where: `redis ${key}`, bytes: (await redis.getBuffer(key)) ?? Buffer.alloc(0) });
        break;
      case 'hash':
        for (const [field, bytes] of Object.entries(await redis.hgetallBuffer(key))) {
          out.push({
            where: `redis ${key} field name ${field}`,
            bytes: Buffer.from(field, 'utf8'),
          });
          out.push({ where: `redis ${key} field ${field}`, bytes });
        }
        break;
      case 'list':
        members(await redis.lrangeBuffer(key, 0, -1));
        break;
      case 'set':
        members(await redis.smembersBuffer(key));
        break;
      case 'zset':
        members(await redis.zrangeBuffer(key, '0', '-1'));
        break;
      case 'stream':
        for (const [id, fields] of await redis.xrangeBuffer(key, '-', '+')) {
          fields.forEach((bytes, i) =>
            out.push({ where: `redis ${key} entry ${id.toString('latin1')} #${i}`, bytes }),
          );
        }
        break;
      case 'none':
        break; // expired or deleted since the SCAN
      default:
        throw new Error(`redis ${key}: a ${type} value, which the scan cannot read`);
    }
  }
  return out;
}

/** Every file under `dir`, read as bytes; `where` is its path relative to `dir`. */
export async function fileValues(dir: string): Promise<ByteHaystack[]> {
  const out: ByteHaystack[] = [];
  const walk = async (at: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(at, { withFileTypes: true });
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return;
      throw err;
    }
    for (const entry of entries) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) await walk(path);
      else out.push({ where: `file ${relative(dir, path)}`, bytes: await readFile(path) });
    }
  };
  await walk(dir);
  return out;
}

/**
 * `value` and the forms it takes in a URL or in JSON: percent-encoded once and twice, and with
 * every non-ASCII character \u-escaped (lower- and upper-case hex).
 */
export function textForms(label: string, value: string): TextNeedle[] {
  const escaped = (hex: (code: number) => string) =>
    [...value].map((c) => (c.charCodeAt(0) > 0x7e ? `\\u${hex(c.charCodeAt(0))}` : c)).join('');
  const lower = escaped((code) => code.toString(16).padStart(4, '0'));
  const upper = escaped((code) => code.toString(16).toUpperCase().padStart(4, '0'));
  const once = encodeURIComponent(value);
  const out: TextNeedle[] = [{ label, value }];
  if (once !== value) {
    out.push({ label: `${label} (percent-encoded)`, value: once });
    out.push({ label: `${label} (percent-encoded twice)`, value: encodeURIComponent(once) });
  }
  if (lower !== value) out.push({ label: `${label} (\\u-escaped)`, value: lower });
  if (upper !== lower) out.push({ label: `${label} (\\u-escaped, upper case)`, value: upper });
  return out;
}
