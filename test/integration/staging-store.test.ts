import { createHash, randomBytes } from 'node:crypto';
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OSS from 'ali-oss';
import { describe, expect, it, onTestFinished } from 'vitest';
import { DirectoryStagingStore } from '../../src/adapters/staging/directory-staging-store.js';
import { OssStagingStore } from '../../src/adapters/staging/oss-staging-store.js';
import { STAGED_OVERHEAD_BYTES, StagingCipher } from '../../src/adapters/staging/staging-cipher.js';
import {
  StagedObjectMissingError,
  StagedObjectUnreadableError,
  StagingUnavailableError,
} from '../../src/adapters/staging/staging-errors.js';
import type {
  MaterialStagingStore,
  StagedTicketInfo,
} from '../../src/adapters/staging/staging-store.js';
import { startOssEmulator, type OssEmulator } from '../../src/emulator/oss/index.js';
import { StsCredentialsInvalidError, ValidationError } from '../../src/errors.js';
import { waitUntil } from '../../testkit/waiting.js';

const BUCKET = 'orchestrator-staging';
const PREFIX = 'staging/';
const OWN_KEY = { accessKeyId: 'LTAIstagingOwnKey', accessKeySecret: 'staging-secret-7Hq2' };
const MARKER = Buffer.from('APPLICANT 张三 110101199003077777', 'utf8');
const T1 = 'ticket-0001';
const T2 = 'ticket-0002';
/** A TicketId the domain accepts that would climb out of a directory if used as a path. */
const CLIMBER = '../../etc/x';
const TEMP_NAME = `.${'0'.repeat(64)}.0011223344556677.tmp`;

/** A 1.5 MB "photo": a JPEG header, a marker naming an applicant, then noise. */
function aPhoto(noiseBytes = 1_500_000): Buffer {
  const header = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1]);
  return Buffer.concat([header, MARKER, randomBytes(noiseBytes)]);
}

/** The name segment of a ticket, as the stores spell it. */
const b64 = (ticketId: string) => Buffer.from(ticketId, 'ascii').toString('base64url');
/** The directory store's shard of a ticket. */
const shardOf = (ticketId: string) =>
  createHash('sha256').update(ticketId).digest('hex').slice(0, 2);

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'staging-store-'));
  onTestFinished(async () => {
    // A read-only directory left by a test must not stop the clean-up.
    await chmod(dir, 0o700).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Every file under `dir`, recursively (none when it does not exist). */
async function filesUnder(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return [];
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

async function rejection<T>(p: Promise<unknown>, type: abstract new (...a: never[]) => T) {
  const err: unknown = await p.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(type);
  return err as T;
}

async function ticketsOf(store: MaterialStagingStore): Promise<StagedTicketInfo[]> {
  const found: StagedTicketInfo[] = [];
  for await (const info of store.tickets()) found.push(info);
  return found.sort((a, b) => a.ticketId.localeCompare(b.ticketId));
}

/** One medium under test: the store over it, and a way round the store to look and tamper. */
interface Medium {
  store: MaterialStagingStore;
  /** The key `store` encrypts with. */
  key: Buffer;
  /** A store on the same medium under another key. */
  withKey: (key: Buffer) => MaterialStagingStore;
  /** The object of `digest` for the ticket exactly as the medium holds it. */
  raw: (ticketId: string, digest: string) => Promise<Buffer | undefined>;
  /** Writes `bytes` as the ticket's object of `digest`, behind the store's back. */
  plant: (ticketId: string, digest: string, bytes: Buffer) => Promise<void>;
  /**
   * What an unfinished write leaves for the ticket: a temp file in its directory; in a bucket, a
   * stray key under its prefix.
   */
  leftover: (ticketId: string) => Promise<void>;
  /** Files (directory) or objects (bucket) the medium holds, temp files included. */
  count: () => Promise<number>;
  /** Whether the store has not touched the medium yet (no directory made, no request sent). */
  untouched: () => Promise<boolean>;
}

async function directoryMedium(): Promise<Medium & { dir: string }> {
  // Two levels that do not exist yet: the store creates them.
  const dir = join(await tempDir(), 'data', 'staging');
  const ticketDir = (ticketId: string) => join(dir, shardOf(ticketId), b64(ticketId));
  const at = (ticketId: string, digest: string) => join(ticketDir(ticketId), digest);
  const key = randomBytes(32);
  return {
    dir,
    key,
    store: new DirectoryStagingStore({ dir, key }),
    withKey: (key) => new DirectoryStagingStore({ dir, key }),
    raw: (ticketId, digest) => readFile(at(ticketId, digest)).catch(() => undefined),
    plant: (ticketId, digest, bytes) => writeFile(at(ticketId, digest), bytes),
    leftover: async (ticketId) => {
      await mkdir(ticketDir(ticketId), { recursive: true, mode: 0o700 });
      await writeFile(join(ticketDir(ticketId), TEMP_NAME), 'partial');
    },
    count: async () => (await filesUnder(dir)).length,
    untouched: async () => !(await exists(dir)),
  };
}

async function ossEmulator(
  options: { memoryOnly?: boolean } = {},
): Promise<{ emu: OssEmulator; dataDir: string }> {
  const dataDir = await tempDir();
  const emu = await startOssEmulator({
    buckets: [BUCKET],
    credentials: (id) =>
      id === OWN_KEY.accessKeyId ? { accessKeySecret: OWN_KEY.accessKeySecret } : undefined,
    ...(options.memoryOnly === true ? {} : { dataDir }),
  });
  onTestFinished(() => emu.close());
  return { emu, dataDir };
}

function ossStore(
  endpoint: string,
  key: Buffer,
  options: { secret?: string; bucket?: string } = {},
) {
  return new OssStagingStore({
    endpoint,
    bucket: options.bucket ?? BUCKET,
    ...OWN_KEY,
    accessKeySecret: options.secret ?? OWN_KEY.accessKeySecret,
    prefix: 'staging',
    timeoutMs: 5000,
    key,
  });
}

/** ali-oss with the store's own key pair, for going round the store. */
function rawClient(emu: OssEmulator): OSS {
  return new OSS({ endpoint: emu.url, bucket: BUCKET, region: 'oss-cn-hangzhou', ...OWN_KEY });
}

const objectKey = (ticketId: string, digest: string) => `${PREFIX}${b64(ticketId)}/${digest}`;

async function ossMedium(): Promise<Medium & { emu: OssEmulator }> {
  const { emu, dataDir } = await ossEmulator();
  const raw = rawClient(emu);
  const key = randomBytes(32);
  return {
    emu,
    key,
    store: ossStore(emu.url, key),
    withKey: (key) => ossStore(emu.url, key),
    raw: (ticketId, digest) => emu.getObject(BUCKET, objectKey(ticketId, digest)),
    plant: async (ticketId, digest, bytes) =>
      void (await raw.put(objectKey(ticketId, digest), bytes)),
    leftover: async (ticketId) =>
      void (await raw.put(`${PREFIX}${b64(ticketId)}/.partial`, Buffer.from('partial'))),
    // The emulator keeps each object as the file dataDir/<bucket>/<key>.
    count: async () => (await filesUnder(join(dataDir, BUCKET, PREFIX))).length,
    untouched: () => Promise.resolve(Object.keys(emu.counters()).length === 0),
  };
}

describe.each([
  ['a directory', directoryMedium],
  ['an OSS bucket through ali-oss and the OSS emulator', ossMedium],
])('the staging store over %s', (_name, makeMedium) => {
  it('round-trips a photo, and what it stores is ciphertext', async () => {
    const { store, key, raw } = await makeMedium();
    const photo = aPhoto();
    const ref = await store.put(T1, photo);
    expect(ref).toEqual(new StagingCipher(key).refOf(photo));
    expect((await store.get(T1, ref)).equals(photo)).toBe(true);
    const stored = await raw(T1, ref.digest);
    expect(stored?.length).toBe(photo.length + STAGED_OVERHEAD_BYTES);
    expect(stored?.includes(photo.subarray(0, 64))).toBe(false);
    expect(stored?.includes(MARKER)).toBe(false);
    expect(stored?.subarray(0, 3).equals(photo.subarray(0, 3))).toBe(false);
    expect(await store.exists(T1, ref)).toBe(true);
  });

  it('names objects by a keyed digest, not by the sha256 of the photo', async () => {
    const { store, withKey } = await makeMedium();
    const photo = aPhoto(1000);
    const ref = await store.put(T1, photo);
    expect(ref.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(ref.digest).not.toBe(createHash('sha256').update(photo).digest('hex'));
    expect((await withKey(randomBytes(32)).put(T1, photo)).digest).not.toBe(ref.digest);
  });

  it('stages the same bytes for the same ticket once: the same ref, one object', async () => {
    const { store, raw, count } = await makeMedium();
    const photo = aPhoto(10_000);
    const first = await store.put(T1, photo);
    const stored = await raw(T1, first.digest);
    expect(await store.put(T1, photo)).toEqual(first);
    // A rewrite would have a fresh IV: the object is byte for byte the first one.
    expect((await raw(T1, first.digest))?.equals(stored ?? Buffer.alloc(0))).toBe(true);
    expect(await count()).toBe(1);
  });

  it('keeps one whole object when 20 puts of the same bytes race from two stores', async () => {
    const { store, key, withKey, count } = await makeMedium();
    // The twin is another process on the same medium: its puts race ours past the existence check.
    const twin = withKey(key);
    const photo = aPhoto(200_000);
    const refs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? store : twin).put(T1, photo)),
    );
    expect(new Set(refs.map((r) => r.digest)).size).toBe(1);
    expect(await count()).toBe(1);
    expect((await store.get(T1, refs[0] ?? { digest: '', bytes: 0 })).equals(photo)).toBe(true);
  });

  it('keeps the same bytes of two tickets as two objects: erasing one leaves the other readable', async () => {
    const { store, count } = await makeMedium();
    const photo = aPhoto(10_000);
    const one = await store.put(T1, photo);
    const two = await store.put(T2, photo);
    expect(two).toEqual(one);
    expect(await count()).toBe(2);
    expect(await store.deleteTicket(T1)).toBe(1);
    await rejection(store.get(T1, one), StagedObjectMissingError);
    expect((await store.get(T2, two)).equals(photo)).toBe(true);
    expect(await count()).toBe(1);
  });

  it('does not find a ticket’s object under another ticket', async () => {
    const { store } = await makeMedium();
    const ref = await store.put(T1, aPhoto(1000));
    expect(await store.exists(T2, ref)).toBe(false);
    await rejection(store.get(T2, ref), StagedObjectMissingError);
  });

  it('refuses an altered object with StagedObjectUnreadableError', async () => {
    const { store, raw, plant } = await makeMedium();
    const ref = await store.put(T1, aPhoto(10_000));
    const altered = Buffer.from((await raw(T1, ref.digest)) ?? []);
    altered[100] = (altered[100] ?? 0) ^ 0x01;
    await plant(T1, ref.digest, altered);
    const err = await rejection(store.get(T1, ref), StagedObjectUnreadableError);
    expect(err).toMatchObject({
      digest: ref.digest,
      retryable: false,
      code: 'STAGED_OBJECT_UNREADABLE',
    });
    expect(err.reason).toMatch(/authentication failed/);
  });

  it('refuses an object moved to another digest', async () => {
    const { store, raw, plant } = await makeMedium();
    const [a, b] = [aPhoto(10_000), aPhoto(10_000)];
    const refA = await store.put(T1, a);
    const refB = await store.put(T1, b);
    await plant(T1, refB.digest, (await raw(T1, refA.digest)) ?? Buffer.alloc(0));
    const err = await rejection(store.get(T1, refB), StagedObjectUnreadableError);
    expect(err.reason).toMatch(/stored under another digest/);
  });

  it('refuses an object written under another key, naming both keys', async () => {
    const { store, withKey } = await makeMedium();
    const ref = await withKey(randomBytes(32)).put(T1, aPhoto(1000));
    const err = await rejection(store.get(T1, ref), StagedObjectUnreadableError);
    expect(err.reason).toMatch(/^written with key [0-9a-f]{8}, but the configured key is/);
  });

  it('answers a missing object with StagedObjectMissingError, STAGED_OBJECT_MISSING', async () => {
    const { store, key } = await makeMedium();
    const ref = new StagingCipher(key).refOf(aPhoto(1000));
    expect(await store.exists(T1, ref)).toBe(false);
    const err = await rejection(store.get(T1, ref), StagedObjectMissingError);
    expect(err.toJSON()).toMatchObject({
      code: 'STAGED_OBJECT_MISSING',
      digest: ref.digest,
      retryable: false,
    });
    expect(err.withField('Binding.FacePic').message).toBe(
      `Binding.FacePic: no staged object has digest ${ref.digest}`,
    );
    // The ticket has other objects: still missing.
    await store.put(T1, aPhoto(1000));
    await rejection(store.get(T1, ref), StagedObjectMissingError);
  });

  it('erases a ticket whole, unfinished writes included, and answers how many it removed', async () => {
    const { store, leftover, count } = await makeMedium();
    const refs = [await store.put(T1, aPhoto(1000)), await store.put(T1, aPhoto(1000))];
    await leftover(T1);
    const kept = await store.put(T2, aPhoto(1000));
    expect(await count()).toBe(4);
    expect(await store.deleteTicket(T1)).toBe(3);
    for (const ref of refs) expect(await store.exists(T1, ref)).toBe(false);
    expect(await count()).toBe(1);
    expect(await store.deleteTicket(T1)).toBe(0);
    expect(await store.deleteTicket('never-staged')).toBe(0);
    expect(await store.exists(T2, kept)).toBe(true);
    expect(await ticketsOf(store)).toEqual([expect.objectContaining({ ticketId: T2, objects: 1 })]);
  });

  it('lists every ticket with its objects (unfinished writes counted) and when the newest was written', async () => {
    const { store, leftover } = await makeMedium();
    expect(await ticketsOf(store)).toEqual([]);
    const before = Date.now();
    await store.put(T1, aPhoto(1000));
    await store.put(T1, aPhoto(1000));
    await store.put(T2, aPhoto(1000));
    await leftover(T2);
    await store.put(CLIMBER, aPhoto(1000));
    const after = Date.now();
    const found = await ticketsOf(store);
    expect(found.map(({ ticketId, objects }) => ({ ticketId, objects }))).toEqual([
      { ticketId: CLIMBER, objects: 1 },
      { ticketId: T1, objects: 2 },
      { ticketId: T2, objects: 2 },
    ]);
    for (const info of found) {
      expect(info.newestAt).toBeGreaterThanOrEqual(before - 1000);
      expect(info.newestAt).toBeLessThanOrEqual(after + 1000);
    }
  });

  it('refuses a malformed TicketId, naming the field, before it touches the medium', async () => {
    const { store, key, untouched } = await makeMedium();
    const ref = new StagingCipher(key).refOf(Buffer.from('x'));
    for (const bad of ['', 'a'.repeat(129), 'has space', 'tab\there', 'caf\u00e9', 'nul\0']) {
      for (const call of [
        () => store.put(bad, Buffer.from('x')),
        () => store.get(bad, ref),
        () => store.exists(bad, ref),
        () => store.deleteTicket(bad),
      ]) {
        const err = await rejection(call(), ValidationError);
        expect(err.field).toBe('TicketId');
        expect(err.message).toBe(
          'TicketId: must be 1–128 printable ASCII characters without spaces',
        );
      }
    }
    expect(await untouched()).toBe(true);
  });

  it('takes any TicketId the domain allows, 128 characters and path-like ones included', async () => {
    const { store } = await makeMedium();
    const long = `${'~'.repeat(127)}!`;
    for (const ticketId of [CLIMBER, long, '%2e%2e', '\\..\\x', 'A', 'a']) {
      const photo = aPhoto(100);
      const ref = await store.put(ticketId, photo);
      expect((await store.get(ticketId, ref)).equals(photo)).toBe(true);
    }
    expect((await ticketsOf(store)).map((t) => t.ticketId).sort()).toEqual(
      [CLIMBER, long, '%2e%2e', '\\..\\x', 'A', 'a'].sort(),
    );
    expect(await store.deleteTicket(CLIMBER)).toBe(1);
  });

  it('refuses a malformed reference before it names a file or an object', async () => {
    const { store } = await makeMedium();
    const bad = { digest: `../../${'a'.repeat(58)}`, bytes: 1 };
    await rejection(store.get(T1, bad), ValidationError);
    await rejection(store.exists(T1, bad), ValidationError);
  });

  it('writes over an object cut short when its bytes are staged again', async () => {
    const { store, raw, plant } = await makeMedium();
    const photo = aPhoto(10_000);
    const ref = await store.put(T1, photo);
    await plant(T1, ref.digest, ((await raw(T1, ref.digest)) ?? Buffer.alloc(0)).subarray(0, 500));
    await rejection(store.get(T1, ref), StagedObjectUnreadableError);
    await store.put(T1, photo);
    expect((await store.get(T1, ref)).equals(photo)).toBe(true);
  });

  it('passes its check on a medium it can use', async () => {
    const { store, count } = await makeMedium();
    await store.check();
    expect(await count()).toBe(0);
  });
});

describe('the directory staging store', () => {
  it('lays objects out as dir/<2 hex of sha256(TicketId)>/<base64url(TicketId)>/<digest>: files 0600, directories 0700', async () => {
    const { store, dir } = await directoryMedium();
    const ref = await store.put(CLIMBER, aPhoto(1000));
    const shard = join(dir, shardOf(CLIMBER));
    const ticketDir = join(shard, b64(CLIMBER));
    expect(b64(CLIMBER)).toBe('Li4vLi4vZXRjL3g');
    expect((await stat(join(ticketDir, ref.digest))).mode & 0o777).toBe(0o600);
    for (const d of [ticketDir, shard, dir]) expect((await stat(d)).mode & 0o777).toBe(0o700);
    expect(await readdir(dir)).toEqual([shardOf(CLIMBER)]);
    expect(await readdir(shard)).toEqual([b64(CLIMBER)]);
    expect(await readdir(ticketDir)).toEqual([ref.digest]);
  });

  it('lists only ticket directories it could have made, skipping strangers', async () => {
    const { store, dir } = await directoryMedium();
    await store.put(T1, aPhoto(1000));
    await writeFile(join(dir, 'README'), 'not a shard');
    await mkdir(join(dir, 'zz', b64(T2)), { recursive: true });
    await writeFile(join(dir, 'zz', b64(T2), 'f'.repeat(64)), 'not a shard name');
    const strangers: Array<[string, string]> = [
      [shardOf(T1), 'not base64!'],
      // 'a b' is no TicketId; 'QR' decodes to 'A' but is not how 'A' is spelled ('QQ').
      [shardOf('a b'), b64('a b')],
      [shardOf('A'), 'QR'],
      // T2's name in a shard that is not T2's.
      [shardOf(T2) === '00' ? '01' : '00', b64(T2)],
    ];
    for (const [shard, name] of strangers) {
      await mkdir(join(dir, shard, name), { recursive: true });
      await writeFile(join(dir, shard, name, 'f'.repeat(64)), 'a stranger');
    }
    // A file where a ticket directory would be.
    await mkdir(join(dir, shardOf('file-ticket')), { recursive: true });
    await writeFile(join(dir, shardOf('file-ticket'), b64('file-ticket')), 'a file');
    expect((await ticketsOf(store)).map((t) => [t.ticketId, t.objects])).toEqual([[T1, 1]]);
  });

  it('does not follow a symbolic link planted at an object name, and replaces it', async () => {
    const { store, dir } = await directoryMedium();
    const photo = aPhoto(1000);
    const ref = await store.put(T1, photo);
    const path = join(dir, shardOf(T1), b64(T1), ref.digest);
    const outside = join(await tempDir(), 'outside');
    await writeFile(outside, await readFile(path));
    await rm(path);
    await symlink(outside, path);
    const err = await rejection(store.get(T1, ref), StagedObjectUnreadableError);
    expect(err.reason).toMatch(/symbolic link/);
    expect(await store.exists(T1, ref)).toBe(false);
    await store.put(T1, photo);
    expect((await lstat(path)).isFile()).toBe(true);
    expect((await store.get(T1, ref)).equals(photo)).toBe(true);
    expect((await readFile(outside)).length).toBe(photo.length + STAGED_OVERHEAD_BYTES);
  });

  it('does not follow a symbolic link planted as a ticket directory: refused, and erased as a link', async () => {
    const { store, dir } = await directoryMedium();
    const photo = aPhoto(1000);
    const ref = await store.put(T1, photo);
    const ticketDir = join(dir, shardOf(T1), b64(T1));
    const outside = await tempDir();
    await writeFile(join(outside, ref.digest), await readFile(join(ticketDir, ref.digest)));
    await writeFile(join(outside, TEMP_NAME), 'someone else’s');
    await rm(ticketDir, { recursive: true });
    await symlink(outside, ticketDir);
    for (const call of [
      () => store.get(T1, ref),
      () => store.exists(T1, ref),
      () => store.put(T1, photo),
    ]) {
      const err = await rejection(call(), StagingUnavailableError);
      expect(err).toMatchObject({ code: 'STAGING_UNAVAILABLE', retryable: false });
    }
    expect(await ticketsOf(store)).toEqual([]);
    expect(await store.deleteTicket(T1)).toBe(0);
    expect(await exists(ticketDir)).toBe(false);
    expect((await readdir(outside)).sort()).toEqual([TEMP_NAME, ref.digest].sort());
  });

  it('refuses a shard directory that is a symbolic link, for every operation', async () => {
    const { store, dir } = await directoryMedium();
    const photo = aPhoto(1000);
    const ref = await store.put(T1, photo);
    const shard = join(dir, shardOf(T1));
    const outside = await tempDir();
    await mkdir(join(outside, b64(T1)));
    await writeFile(join(outside, b64(T1), ref.digest), 'outside');
    await rm(shard, { recursive: true });
    await symlink(outside, shard);
    for (const call of [
      () => store.get(T1, ref),
      () => store.exists(T1, ref),
      () => store.deleteTicket(T1),
      () => store.put(T1, photo),
    ]) {
      const err = await rejection(call(), StagingUnavailableError);
      expect(err).toMatchObject({ code: 'STAGING_UNAVAILABLE', retryable: false });
    }
    expect(await readdir(join(outside, b64(T1)))).toEqual([ref.digest]);
  });

  it('erases whatever else is in a ticket’s directory, without following links in it', async () => {
    const { store, dir } = await directoryMedium();
    const ref = await store.put(T1, aPhoto(1000));
    const ticketDir = join(dir, shardOf(T1), b64(T1));
    const outside = await tempDir();
    await writeFile(join(outside, 'precious'), 'keep me');
    await symlink(outside, join(ticketDir, 'a-link'));
    await mkdir(join(ticketDir, 'a-dir'));
    await symlink(join(outside, 'precious'), join(ticketDir, 'a-dir', 'inner-link'));
    expect(await store.deleteTicket(T1)).toBe(3);
    expect(await exists(ticketDir)).toBe(false);
    expect(await readFile(join(outside, 'precious'), 'utf8')).toBe('keep me');
    expect(await store.exists(T1, ref)).toBe(false);
  });

  it('creates a missing root on check, and leaves no probe behind', async () => {
    const { store, dir } = await directoryMedium();
    await store.check();
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect(await readdir(dir)).toEqual([]);
  });

  it('answers a root that is a file with a non-retryable StagingUnavailableError, on every call', async () => {
    const file = join(await tempDir(), 'a-file');
    await writeFile(file, 'not a directory');
    const store = new DirectoryStagingStore({ dir: file, key: randomBytes(32) });
    const err = await rejection(store.put(T1, aPhoto(1000)), StagingUnavailableError);
    expect(err.toJSON()).toMatchObject({
      code: 'STAGING_UNAVAILABLE',
      retryable: false,
      operation: 'put',
    });
    expect(err.message).toMatch(/^staging store: directory put failed \(E[A-Z]+\)$/);
    const checked = await rejection(store.check(), StagingUnavailableError);
    expect(checked).toMatchObject({ retryable: false, operation: 'check' });
    await rejection(store.tickets()[Symbol.asyncIterator]().next(), StagingUnavailableError);
  });

  it('fails its check where it cannot write, saying why, without the path', async () => {
    const base = await tempDir();
    // root ignores permissions: a root under a regular file fails for root as well.
    const asRoot = process.getuid?.() === 0;
    let dir: string;
    if (asRoot) {
      await writeFile(join(base, 'a-file'), 'x');
      dir = join(base, 'a-file', 'staging');
    } else {
      dir = join(base, 'read-only');
      await mkdir(dir, { mode: 0o500 });
    }
    const err = await rejection(
      new DirectoryStagingStore({ dir, key: randomBytes(32) }).check(),
      StagingUnavailableError,
    );
    expect(err).toMatchObject({ code: 'STAGING_UNAVAILABLE', retryable: false });
    expect(err.message).toBe(
      `staging store: directory check failed (${asRoot ? 'ENOTDIR' : 'EACCES'})`,
    );
    expect(JSON.stringify(err.toJSON())).not.toContain(base);
  });
});

interface Recorded {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingHttpHeaders;
}

/**
 * A loopback HTTP proxy in front of the emulator that records each request's line and headers.
 * `hold` may keep the emulator's answer to a request from the client until a promise settles
 * (the emulator has acted on the request by then); `held` counts the answers held so far.
 */
async function recordingProxy(
  target: string,
  options: { hold?: (request: Recorded) => Promise<void> | undefined } = {},
) {
  const to = new URL(target);
  const requests: Recorded[] = [];
  let held = 0;
  const server = createServer((req, res) => {
    const recorded = { method: req.method, url: req.url, headers: req.headers };
    requests.push(recorded);
    const upstream = request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        const forward = () => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        };
        const hold = options.hold?.(recorded);
        if (hold === undefined) return forward();
        held += 1;
        void hold.then(forward);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    held: () => held,
  };
}

describe('the OSS staging store', () => {
  it('HEADs, then PUTs once with server-side encryption, forbid-overwrite and Content-MD5', async () => {
    const { emu } = await ossEmulator();
    const proxy = await recordingProxy(emu.url);
    const store = ossStore(proxy.url, randomBytes(32));
    const photo = aPhoto(1000);
    const ref = await store.put(CLIMBER, photo);
    await store.put(CLIMBER, photo);
    const key = `/${PREFIX}Li4vLi4vZXRjL3g/${ref.digest}`;
    expect(proxy.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      `HEAD ${key}`,
      `PUT ${key}`,
      `HEAD ${key}`,
    ]);
    expect(proxy.requests[1]?.headers).toMatchObject({
      'x-oss-server-side-encryption': 'AES256',
      'x-oss-forbid-overwrite': 'true',
      'content-md5': expect.stringMatching(/^[A-Za-z0-9+/]{22}==$/),
      'content-type': 'application/octet-stream',
    });
    expect(emu.counters()).toMatchObject({ PutObject: { ok: 1 }, HeadObject: { ok: 1 } });
  });

  it('sends one PUT for 20 concurrent puts of the same bytes for a ticket', async () => {
    const { emu } = await ossEmulator();
    const store = ossStore(emu.url, randomBytes(32));
    const photo = aPhoto(200_000);
    const refs = await Promise.all(Array.from({ length: 20 }, () => store.put(T1, photo)));
    expect(emu.counters()).toMatchObject({ PutObject: { ok: 1 }, HeadObject: { NoSuchKey: 1 } });
    expect((await store.get(T1, refs[0] ?? { digest: '', bytes: 0 })).equals(photo)).toBe(true);
  });

  it('counts a PUT refused with FileAlreadyExists 409 as staged: another process wrote first', async () => {
    const { emu } = await ossEmulator();
    const key = randomBytes(32);
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    // The late store's HEAD reaches the emulator at once (nothing there yet); its answer is held
    // while the first store stages the same bytes, so the late PUT finds the object written.
    const proxy = await recordingProxy(emu.url, {
      hold: (r) => (r.method === 'HEAD' ? gate : undefined),
    });
    const late = ossStore(proxy.url, key);
    const photo = aPhoto(10_000);
    const racing = late.put(T1, photo);
    await waitUntil('the late store’s HEAD answered and held', () => proxy.held() === 1);
    const ref = await ossStore(emu.url, key).put(T1, photo);
    const written = await emu.getObject(BUCKET, objectKey(T1, ref.digest));
    release();

    expect(await racing).toEqual(ref);
    expect(proxy.requests.map((r) => r.method)).toEqual(['HEAD', 'PUT']);
    expect(proxy.requests[1]?.headers['x-oss-forbid-overwrite']).toBe('true');
    expect(emu.counters().PutObject).toEqual({ ok: 1, FileAlreadyExists: 1 });
    // The first envelope stays: a rewrite would have a fresh IV.
    expect(await emu.getObject(BUCKET, objectKey(T1, ref.digest))).toEqual(written);
    expect((await late.get(T1, ref)).equals(photo)).toBe(true);
  });

  it('erases a ticket with one listing of its prefix and one DeleteMultipleObjects', async () => {
    const { emu } = await ossEmulator();
    const proxy = await recordingProxy(emu.url);
    const store = ossStore(proxy.url, randomBytes(32));
    for (let i = 0; i < 3; i++) await store.put(T1, aPhoto(100));
    await store.put(T2, aPhoto(100));
    proxy.requests.length = 0;
    expect(await store.deleteTicket(T1)).toBe(3);
    expect(proxy.requests.map((r) => `${r.method} ${r.url?.replace(/\?.*/, '')}`)).toEqual([
      'GET /',
      'POST /',
    ]);
    expect(proxy.requests[0]?.url).toContain(
      `prefix=${encodeURIComponent(`${PREFIX}${b64(T1)}/`)}`,
    );
    expect(emu.counters().DeleteMultipleObjects).toEqual({ ok: 1 });
    expect((await ticketsOf(store)).map((t) => [t.ticketId, t.objects])).toEqual([[T2, 1]]);
  });

  it('lists tickets from keys under its prefix only, skipping names it could not have made', async () => {
    const { emu } = await ossEmulator();
    const store = ossStore(emu.url, randomBytes(32));
    const raw = rawClient(emu);
    await store.put(T1, aPhoto(1000));
    await raw.put(`${PREFIX}README`, Buffer.from('no ticket segment'));
    await raw.put(`${PREFIX}${b64('a b')}/x`, Buffer.from('not a TicketId'));
    await raw.put(`${PREFIX}QR/x`, Buffer.from('not how A is spelled'));
    await raw.put(`${PREFIX}not base64!/x`, Buffer.from('not base64url'));
    await raw.put(`elsewhere/${b64(T2)}/${'f'.repeat(64)}`, Buffer.from('outside the prefix'));
    expect((await ticketsOf(store)).map((t) => [t.ticketId, t.objects])).toEqual([[T1, 1]]);
    expect(emu.counters().ListObjectsV2).toEqual({ ok: 1 });
  });

  it('lists and erases a ticket of 1001 objects over ListObjectsV2 pages of at most 1000', async () => {
    const { emu } = await ossEmulator({ memoryOnly: true });
    const store = ossStore(emu.url, randomBytes(32));
    const raw = rawClient(emu);
    // Empty objects under digest names: listing and erasing read names, never bodies.
    const digests = (n: number, seed: string) =>
      Array.from({ length: n }, (_, i) => createHash('sha256').update(`${seed}${i}`).digest('hex'));
    // 'A-ticket' sorts before 'B-ticket' (QS… < Qi…): B spans the page boundary.
    const keys = [
      ...digests(10, 'a').map((d) => objectKey('A-ticket', d)),
      ...digests(1001, 'b').map((d) => objectKey('B-ticket', d)),
    ];
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((k) => raw.put(k, Buffer.alloc(0))));
    }
    expect((await ticketsOf(store)).map((t) => [t.ticketId, t.objects])).toEqual([
      ['A-ticket', 10],
      ['B-ticket', 1001],
    ]);
    expect(emu.counters().ListObjectsV2).toEqual({ ok: 2 });
    expect(await store.deleteTicket('B-ticket')).toBe(1001);
    expect(emu.counters().DeleteMultipleObjects).toEqual({ ok: 2 });
    expect((await ticketsOf(store)).map((t) => [t.ticketId, t.objects])).toEqual([
      ['A-ticket', 10],
    ]);
  });

  it('checks with one ListObjectsV2 of one key, and fails its check on a bucket that is not there', async () => {
    const { emu } = await ossEmulator();
    const proxy = await recordingProxy(emu.url);
    await ossStore(proxy.url, randomBytes(32)).check();
    expect(proxy.requests.map((r) => r.method)).toEqual(['GET']);
    expect(proxy.requests[0]?.url).toMatch(/max-keys=1(&|$)/);
    const missing = await rejection(
      ossStore(emu.url, randomBytes(32), { bucket: 'no-such-bucket' }).check(),
      StagingUnavailableError,
    );
    expect(missing).toMatchObject({
      code: 'STAGING_UNAVAILABLE',
      retryable: false,
      operation: 'check',
    });
    expect(missing.message).toMatch(/NoSuchBucket \(HTTP 404\)/);
  });

  it('answers a wrong secret with a non-retryable StagingUnavailableError, not an STS error', async () => {
    const { emu } = await ossEmulator();
    const store = ossStore(emu.url, randomBytes(32), { secret: 'not-the-secret' });
    const err = await rejection(store.put(T1, aPhoto(1000)), StagingUnavailableError);
    expect(err).not.toBeInstanceOf(StsCredentialsInvalidError);
    expect(err).toMatchObject({ code: 'STAGING_UNAVAILABLE', retryable: false, operation: 'put' });
    expect(err.message).toMatch(/SignatureDoesNotMatch \(HTTP 403\)/);
    expect(JSON.stringify(err.toJSON())).not.toContain('not-the-secret');
    const checked = await rejection(store.check(), StagingUnavailableError);
    expect(checked).toMatchObject({ retryable: false, operation: 'check' });
  });

  it('answers an injected InternalError and an unreachable endpoint as retryable', async () => {
    const { emu } = await ossEmulator();
    const store = ossStore(emu.url, randomBytes(32));
    emu.setFaults({ PutObject: { internalErrorRate: 1 } });
    const failed = await rejection(store.put(T1, aPhoto(1000)), StagingUnavailableError);
    expect(failed).toMatchObject({ retryable: true, retryAfterMs: 2000 });
    expect(failed.message).toMatch(/InternalError \(HTTP 500\)/);
    emu.setFaults({ DeleteMultipleObjects: { internalErrorRate: 1 } });
    await rawClient(emu).put(objectKey(T1, 'f'.repeat(64)), Buffer.alloc(0));
    const erase = await rejection(store.deleteTicket(T1), StagingUnavailableError);
    expect(erase).toMatchObject({ retryable: true, operation: 'deleteTicket' });
    await emu.close();
    const ref = new StagingCipher(randomBytes(32)).refOf(aPhoto(10));
    const down = await rejection(store.get(T1, ref), StagingUnavailableError);
    expect(down).toMatchObject({ code: 'STAGING_UNAVAILABLE', retryable: true, operation: 'get' });
    const check = await rejection(store.check(), StagingUnavailableError);
    expect(check).toMatchObject({ retryable: true, operation: 'check' });
  });
});
