import { createHash, randomBytes } from 'node:crypto';
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
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
import { STAGED_OVERHEAD_BYTES } from '../../src/adapters/staging/staging-cipher.js';
import {
  StagedObjectMissingError,
  StagedObjectUnreadableError,
  StagingUnavailableError,
} from '../../src/adapters/staging/staging-errors.js';
import {
  stagedRefOf,
  type MaterialStagingStore,
  type StagedObjectInfo,
} from '../../src/adapters/staging/staging-store.js';
import { startOssEmulator, type OssEmulator } from '../../src/emulator/oss/index.js';
import { StsCredentialsInvalidError, ValidationError } from '../../src/errors.js';
import { waitUntil } from '../../testkit/waiting.js';

const BUCKET = 'orchestrator-staging';
const PREFIX = 'staging/';
const OWN_KEY = { accessKeyId: 'LTAIstagingOwnKey', accessKeySecret: 'staging-secret-7Hq2' };
const MARKER = Buffer.from('APPLICANT 张三 110101199003077777', 'utf8');

/** A 1.5 MB "photo": a JPEG header, a marker naming an applicant, then noise. */
function aPhoto(noiseBytes = 1_500_000): Buffer {
  const header = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1]);
  return Buffer.concat([header, MARKER, randomBytes(noiseBytes)]);
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'staging-store-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
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

async function rejection<T>(p: Promise<unknown>, type: abstract new (...a: never[]) => T) {
  const err: unknown = await p.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(type);
  return err as T;
}

/** One medium under test: the store over it, and a way round the store to look and tamper. */
interface Medium {
  store: MaterialStagingStore;
  /** The key `store` encrypts with. */
  key: Buffer;
  /** A store on the same medium under another key. */
  withKey: (key: Buffer) => MaterialStagingStore;
  /** The object of `digest` exactly as the medium holds it. */
  raw: (digest: string) => Promise<Buffer | undefined>;
  /** Writes `bytes` as the object of `digest`, behind the store's back. */
  plant: (digest: string, bytes: Buffer) => Promise<void>;
  /** Files (directory) or objects (bucket) the medium holds, temp files included. */
  count: () => Promise<number>;
}

async function directoryMedium(): Promise<Medium & { dir: string }> {
  // Two levels that do not exist yet: the store creates them.
  const dir = join(await tempDir(), 'data', 'staging');
  const at = (digest: string) => join(dir, digest.slice(0, 2), digest);
  const key = randomBytes(32);
  return {
    dir,
    key,
    store: new DirectoryStagingStore({ dir, key }),
    withKey: (key) => new DirectoryStagingStore({ dir, key }),
    raw: (digest) => readFile(at(digest)).catch(() => undefined),
    plant: (digest, bytes) => writeFile(at(digest), bytes),
    count: async () => (await filesUnder(dir)).length,
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

function ossStore(endpoint: string, key: Buffer, secret = OWN_KEY.accessKeySecret) {
  return new OssStagingStore({
    endpoint,
    bucket: BUCKET,
    ...OWN_KEY,
    accessKeySecret: secret,
    prefix: 'staging',
    timeoutMs: 5000,
    key,
  });
}

async function ossMedium(): Promise<Medium & { emu: OssEmulator }> {
  const { emu, dataDir } = await ossEmulator();
  const raw = new OSS({ endpoint: emu.url, bucket: BUCKET, region: 'oss-cn-hangzhou', ...OWN_KEY });
  const key = randomBytes(32);
  return {
    emu,
    key,
    store: ossStore(emu.url, key),
    withKey: (key) => ossStore(emu.url, key),
    raw: (digest) => emu.getObject(BUCKET, `${PREFIX}${digest}`),
    plant: async (digest, bytes) => void (await raw.put(`${PREFIX}${digest}`, bytes)),
    // The emulator keeps each object as the file dataDir/<bucket>/<key>.
    count: async () => (await filesUnder(join(dataDir, BUCKET, PREFIX))).length,
  };
}

describe.each([
  ['a directory', directoryMedium],
  ['an OSS bucket through ali-oss and the OSS emulator', ossMedium],
])('the staging store over %s', (_name, makeMedium) => {
  it('round-trips a photo, and what it stores is ciphertext', async () => {
    const { store, raw } = await makeMedium();
    const photo = aPhoto();
    const ref = await store.put(photo);
    expect(ref).toEqual(stagedRefOf(photo));
    expect((await store.get(ref)).equals(photo)).toBe(true);
    const stored = await raw(ref.digest);
    expect(stored?.length).toBe(photo.length + STAGED_OVERHEAD_BYTES);
    expect(stored?.includes(photo.subarray(0, 64))).toBe(false);
    expect(stored?.includes(MARKER)).toBe(false);
    expect(stored?.subarray(0, 3).equals(photo.subarray(0, 3))).toBe(false);
    expect(await store.exists(ref)).toBe(true);
  });

  it('stages the same bytes once: a second put writes nothing and answers the same ref', async () => {
    const { store, raw, count } = await makeMedium();
    const photo = aPhoto(10_000);
    const first = await store.put(photo);
    const stored = await raw(first.digest);
    expect(await store.put(photo)).toEqual(first);
    // A rewrite would have a fresh IV: the object is byte for byte the first one.
    expect((await raw(first.digest))?.equals(stored ?? Buffer.alloc(0))).toBe(true);
    expect(await count()).toBe(1);
  });

  it('keeps one whole object when 20 puts of the same bytes race from two stores', async () => {
    const { store, key, withKey, count } = await makeMedium();
    // The twin is another process on the same medium: its puts race ours past the existence check.
    const twin = withKey(key);
    const photo = aPhoto(200_000);
    const refs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? store : twin).put(photo)),
    );
    expect(new Set(refs.map((r) => r.digest)).size).toBe(1);
    expect(await count()).toBe(1);
    expect((await store.get(stagedRefOf(photo))).equals(photo)).toBe(true);
  });

  it('refuses an altered object with StagedObjectUnreadableError', async () => {
    const { store, raw, plant } = await makeMedium();
    const ref = await store.put(aPhoto(10_000));
    const altered = Buffer.from((await raw(ref.digest)) ?? []);
    altered[100] = (altered[100] ?? 0) ^ 0x01;
    await plant(ref.digest, altered);
    const err = await rejection(store.get(ref), StagedObjectUnreadableError);
    expect(err).toMatchObject({ digest: ref.digest, retryable: false, code: 'INTERNAL_ERROR' });
    expect(err.reason).toMatch(/authentication failed/);
  });

  it('refuses an object moved to another digest', async () => {
    const { store, raw, plant } = await makeMedium();
    const [a, b] = [aPhoto(10_000), aPhoto(10_000)];
    const refA = await store.put(a);
    const refB = await store.put(b);
    await plant(refB.digest, (await raw(refA.digest)) ?? Buffer.alloc(0));
    const err = await rejection(store.get(refB), StagedObjectUnreadableError);
    expect(err.reason).toMatch(/stored under another digest/);
  });

  it('refuses an object written under another key, naming both keys', async () => {
    const { store, withKey } = await makeMedium();
    const ref = await withKey(randomBytes(32)).put(aPhoto(1000));
    const err = await rejection(store.get(ref), StagedObjectUnreadableError);
    expect(err.reason).toMatch(/^written with key [0-9a-f]{8}, but the configured key is/);
  });

  it('answers a missing object with StagedObjectMissingError', async () => {
    const { store } = await makeMedium();
    const ref = stagedRefOf(aPhoto(1000));
    expect(await store.exists(ref)).toBe(false);
    const err = await rejection(store.get(ref), StagedObjectMissingError);
    expect(err.toJSON()).toMatchObject({ digest: ref.digest, retryable: false });
  });

  it('deletes an object; deleting it again is not an error', async () => {
    const { store, count } = await makeMedium();
    const keep = await store.put(aPhoto(1000));
    const ref = await store.put(aPhoto(1000));
    await store.delete(ref);
    expect(await store.exists(ref)).toBe(false);
    await rejection(store.get(ref), StagedObjectMissingError);
    await store.delete(ref);
    expect(await count()).toBe(1);
    expect(await store.exists(keep)).toBe(true);
  });

  it('writes over an object cut short when its bytes are staged again', async () => {
    const { store, raw, plant } = await makeMedium();
    const photo = aPhoto(10_000);
    const ref = await store.put(photo);
    await plant(ref.digest, ((await raw(ref.digest)) ?? Buffer.alloc(0)).subarray(0, 500));
    await rejection(store.get(ref), StagedObjectUnreadableError);
    await store.put(photo);
    expect((await store.get(ref)).equals(photo)).toBe(true);
  });

  it('refuses a malformed reference before it names a file or an object', async () => {
    const { store } = await makeMedium();
    const bad = { digest: `../../${'a'.repeat(58)}`, bytes: 1 };
    await rejection(store.get(bad), ValidationError);
    await rejection(store.exists(bad), ValidationError);
    await rejection(store.delete(bad), ValidationError);
  });
});

describe('the directory staging store', () => {
  it('lays objects out as dir/<2 hex>/<digest>: files 0600, directories 0700', async () => {
    const { store, dir } = await directoryMedium();
    const ref = await store.put(aPhoto(1000));
    const shard = join(dir, ref.digest.slice(0, 2));
    expect((await stat(join(shard, ref.digest))).mode & 0o777).toBe(0o600);
    expect((await stat(shard)).mode & 0o777).toBe(0o700);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect(await readdir(shard)).toEqual([ref.digest]);
  });

  it('lists each object once with its plaintext length, skipping temp files and strangers', async () => {
    const { store, dir } = await directoryMedium();
    const before = Date.now();
    const refs = await Promise.all([1000, 2000, 3000].map((n) => store.put(aPhoto(n))));
    const after = Date.now();
    const shard = join(dir, refs[0]?.digest.slice(0, 2) ?? '');
    await writeFile(join(shard, `.${refs[0]?.digest}.0011223344556677.tmp`), 'partial');
    await writeFile(join(dir, 'README'), 'not an object');
    await mkdir(join(dir, 'zz'));
    await writeFile(join(dir, 'zz', 'f'.repeat(64)), 'wrong shard');
    const listed: StagedObjectInfo[] = [];
    for await (const info of store.list()) listed.push(info);
    const byDigest = (x: { digest: string }, y: { digest: string }) =>
      x.digest.localeCompare(y.digest);
    expect(listed.map(({ digest, bytes }) => ({ digest, bytes })).sort(byDigest)).toEqual(
      [...refs].sort(byDigest),
    );
    for (const info of listed) {
      expect(info.modifiedAt).toBeGreaterThanOrEqual(before - 1000);
      expect(info.modifiedAt).toBeLessThanOrEqual(after + 1000);
    }
  });

  it('lists nothing before the first put', async () => {
    const { store } = await directoryMedium();
    const listed: StagedObjectInfo[] = [];
    for await (const info of store.list()) listed.push(info);
    expect(listed).toEqual([]);
  });

  it('does not follow a symbolic link planted at an object name, and replaces it', async () => {
    const { store, dir } = await directoryMedium();
    const photo = aPhoto(1000);
    const ref = await store.put(photo);
    const path = join(dir, ref.digest.slice(0, 2), ref.digest);
    const outside = join(await tempDir(), 'outside');
    await writeFile(outside, await readFile(path));
    await rm(path);
    await symlink(outside, path);
    const err = await rejection(store.get(ref), StagedObjectUnreadableError);
    expect(err.reason).toMatch(/symbolic link/);
    expect(await store.exists(ref)).toBe(false);
    await store.put(photo);
    expect((await lstat(path)).isFile()).toBe(true);
    expect((await store.get(ref)).equals(photo)).toBe(true);
    expect((await readFile(outside)).length).toBe(photo.length + STAGED_OVERHEAD_BYTES);
  });

  it('refuses a shard directory that is a symbolic link, for every operation', async () => {
    const { store, dir } = await directoryMedium();
    const photo = aPhoto(1000);
    const ref = await store.put(photo);
    const shard = join(dir, ref.digest.slice(0, 2));
    const outside = await tempDir();
    await writeFile(join(outside, ref.digest), await readFile(join(shard, ref.digest)));
    await rm(shard, { recursive: true });
    await symlink(outside, shard);
    for (const call of [
      () => store.get(ref),
      () => store.exists(ref),
      () => store.delete(ref),
      () => store.put(photo),
    ]) {
      const err = await rejection(call(), StagingUnavailableError);
      expect(err).toMatchObject({ code: 'STORE_UNAVAILABLE', retryable: false });
    }
    expect(await readdir(outside)).toEqual([ref.digest]);
  });

  it('answers a directory it cannot use with a non-retryable StagingUnavailableError', async () => {
    const file = join(await tempDir(), 'a-file');
    await writeFile(file, 'not a directory');
    const store = new DirectoryStagingStore({ dir: file, key: randomBytes(32) });
    const err = await rejection(store.put(aPhoto(1000)), StagingUnavailableError);
    expect(err.toJSON()).toMatchObject({
      code: 'STORE_UNAVAILABLE',
      retryable: false,
      operation: 'put',
    });
    expect(err.message).toMatch(/^staging store: directory put failed \(E[A-Z]+\)$/);
    await rejection(store.list()[Symbol.asyncIterator]().next(), StagingUnavailableError);
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
    const ref = await store.put(photo);
    await store.put(photo);
    const key = `/${PREFIX}${ref.digest}`;
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

  it('sends one PUT for 20 concurrent puts of the same bytes', async () => {
    const { emu } = await ossEmulator();
    const store = ossStore(emu.url, randomBytes(32));
    const photo = aPhoto(200_000);
    await Promise.all(Array.from({ length: 20 }, () => store.put(photo)));
    expect(emu.counters()).toMatchObject({ PutObject: { ok: 1 }, HeadObject: { NoSuchKey: 1 } });
    expect((await store.get(stagedRefOf(photo))).equals(photo)).toBe(true);
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
    const racing = late.put(photo);
    await waitUntil('the late store’s HEAD answered and held', () => proxy.held() === 1);
    const ref = await ossStore(emu.url, key).put(photo);
    const written = await emu.getObject(BUCKET, `${PREFIX}${ref.digest}`);
    release();

    expect(await racing).toEqual(ref);
    expect(proxy.requests.map((r) => r.method)).toEqual(['HEAD', 'PUT']);
    expect(proxy.requests[1]?.headers['x-oss-forbid-overwrite']).toBe('true');
    expect(emu.counters().PutObject).toEqual({ ok: 1, FileAlreadyExists: 1 });
    // The first envelope stays: a rewrite would have a fresh IV.
    expect(await emu.getObject(BUCKET, `${PREFIX}${ref.digest}`)).toEqual(written);
    expect((await late.get(ref)).equals(photo)).toBe(true);
  });

  it('lists what it staged with plaintext lengths, skipping names that are not digests and other prefixes', async () => {
    const { emu } = await ossEmulator();
    const store = ossStore(emu.url, randomBytes(32));
    const raw = new OSS({
      endpoint: emu.url,
      bucket: BUCKET,
      region: 'oss-cn-hangzhou',
      ...OWN_KEY,
    });
    const before = Date.now();
    const refs = await Promise.all([1000, 2000, 3000].map((n) => store.put(aPhoto(n))));
    const after = Date.now();
    await raw.put(`${PREFIX}README`, Buffer.from('not an object'));
    await raw.put(`${PREFIX}${'F'.repeat(64)}`, Buffer.from('upper-case hex is not a digest'));
    await raw.put(`elsewhere/${refs[0]?.digest}`, Buffer.from('outside the prefix'));
    const listed: StagedObjectInfo[] = [];
    for await (const info of store.list()) listed.push(info);
    const byDigest = (x: { digest: string }, y: { digest: string }) =>
      x.digest.localeCompare(y.digest);
    expect(listed.map(({ digest, bytes }) => ({ digest, bytes }))).toEqual(
      [...refs].sort(byDigest),
    );
    for (const info of listed) {
      expect(info.modifiedAt).toBeGreaterThanOrEqual(before - 1000);
      expect(info.modifiedAt).toBeLessThanOrEqual(after + 1000);
    }
    expect(emu.counters().ListObjectsV2).toEqual({ ok: 1 });
  });

  it('lists 1001 objects over two ListObjectsV2 pages of at most 1000', async () => {
    const { emu } = await ossEmulator({ memoryOnly: true });
    const store = ossStore(emu.url, randomBytes(32));
    const raw = new OSS({
      endpoint: emu.url,
      bucket: BUCKET,
      region: 'oss-cn-hangzhou',
      ...OWN_KEY,
    });
    // Planted empty objects under digest names: listing reads names and sizes, never bodies.
    const digests = Array.from({ length: 1001 }, (_, i) =>
      createHash('sha256').update(String(i)).digest('hex'),
    );
    for (let i = 0; i < digests.length; i += 50) {
      await Promise.all(
        digests.slice(i, i + 50).map((d) => raw.put(`${PREFIX}${d}`, Buffer.alloc(0))),
      );
    }
    const listed: StagedObjectInfo[] = [];
    for await (const info of store.list()) listed.push(info);
    expect(listed.map((i) => i.digest)).toEqual([...digests].sort());
    expect(new Set(listed.map((i) => i.bytes))).toEqual(new Set([0]));
    expect(emu.counters().ListObjectsV2).toEqual({ ok: 2 });
  });

  it('answers a wrong secret with a non-retryable StagingUnavailableError, not an STS error', async () => {
    const { emu } = await ossEmulator();
    const store = ossStore(emu.url, randomBytes(32), 'not-the-secret');
    const err = await rejection(store.put(aPhoto(1000)), StagingUnavailableError);
    expect(err).not.toBeInstanceOf(StsCredentialsInvalidError);
    expect(err).toMatchObject({ code: 'STORE_UNAVAILABLE', retryable: false, operation: 'put' });
    expect(err.message).toMatch(/SignatureDoesNotMatch \(HTTP 403\)/);
    expect(JSON.stringify(err.toJSON())).not.toContain('not-the-secret');
  });

  it('answers an injected InternalError and an unreachable endpoint as retryable', async () => {
    const { emu } = await ossEmulator();
    const store = ossStore(emu.url, randomBytes(32));
    emu.setFaults({ PutObject: { internalErrorRate: 1 } });
    const failed = await rejection(store.put(aPhoto(1000)), StagingUnavailableError);
    expect(failed).toMatchObject({ retryable: true, retryAfterMs: 2000 });
    expect(failed.message).toMatch(/InternalError \(HTTP 500\)/);
    await emu.close();
    const down = await rejection(store.get(stagedRefOf(aPhoto(10))), StagingUnavailableError);
    expect(down).toMatchObject({ code: 'STORE_UNAVAILABLE', retryable: true, operation: 'get' });
  });
});
