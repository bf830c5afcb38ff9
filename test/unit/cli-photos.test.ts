/**
 * `enqueue --photos`: a folder, and a ZIP archive written by a ZIP library (yazl), read in place.
 * Paths that are absolute or lead outside are refused (a `..` entry in the archive is left out of
 * its index, its bytes unreachable); an entry is bounded by the image size limit from its declared
 * size and again while it inflates (an archive that lies about a size); the bytes read are the
 * bytes written.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import iconv from 'iconv-lite';
import yazl from 'yazl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Entry } from 'yauzl';
import { SOURCE_LIMIT_BYTES } from '../../src/adapters/oss/image-header.js';
import { ValidationError } from '../../src/errors.js';
import { CliError } from '../../src/cli/exit-codes.js';
import { openPhotos, type PhotoSource } from '../../src/cli/photos.js';
import { checkInputRow, type RowCheckContext } from '../../src/cli/row-check.js';
import { withArchivePhotos } from '../../src/cli/enqueue-rows.js';
import { entryName } from '../../src/cli/zip-archive.js';
import { PDF, smallJpeg, smallPng } from '../support/images.js';

let dir: string;
let jpeg: Buffer;
let png: Buffer;

/** Writes a ZIP of `entries` with yazl. */
async function writeZip(path: string, entries: Record<string, Buffer>): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const [name, data] of Object.entries(entries)) zip.addBuffer(data, name);
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(path));
}

/** `bytes` with every occurrence of `from` replaced by `to` (of the same length). */
function replaceAll(bytes: Buffer, from: string, to: string): Buffer {
  const a = Buffer.from(from);
  const b = Buffer.from(to);
  expect(b.length).toBe(a.length);
  const out = Buffer.from(bytes);
  for (let i = out.indexOf(a); i !== -1; i = out.indexOf(a, i + 1)) b.copy(out, i);
  return out;
}

/** Sets the uncompressed size the central directory declares for the entry `name`. */
function declareSize(bytes: Buffer, name: string, size: number): Buffer {
  const out = Buffer.from(bytes);
  const signature = Buffer.from([0x50, 0x4b, 0x01, 0x02]);
  for (let i = out.indexOf(signature); i !== -1; i = out.indexOf(signature, i + 1)) {
    const nameLength = out.readUInt16LE(i + 28);
    if (out.subarray(i + 46, i + 46 + nameLength).toString() === name) {
      out.writeUInt32LE(size, i + 24);
      return out;
    }
  }
  throw new Error(`no central directory record for ${name}`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-photos-'));
  jpeg = await smallJpeg('#8a6b4e');
  png = await smallPng('#6b4e8a');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ID = '11010519491231002X';
const row = (pics: Record<string, string>) => ({
  request: {
    TicketId: 't',
    Biz: 'RPMin',
    Binding: { Name: '王芳', IdentificationNumber: ID, ...pics },
  },
});

async function problems(ctx: RowCheckContext, pics: Record<string, string>) {
  const check = await checkInputRow(row(pics), ctx);
  return check.ok ? [] : check.problems.map((p) => `${p.field}: ${p.message}`);
}

describe('--photos photos.zip', () => {
  let photos: PhotoSource;
  let ctx: RowCheckContext;

  beforeAll(async () => {
    const path = join(dir, 'photos.zip');
    await writeZip(path, {
      'faces/a.jpg': jpeg,
      '王芳.png': png,
      'docs/doc.pdf': PDF,
      // yazl refuses to write a `..` name: written under another name of the same length, renamed
      'xx/evil.jpg': jpeg,
      'big.jpg': Buffer.alloc(SOURCE_LIMIT_BYTES + 1),
      'liar.jpg': Buffer.concat([jpeg, Buffer.alloc(64 * 1024)]),
    });
    let bytes = replaceAll(await readFile(path), 'xx/evil.jpg', '../evil.jpg');
    bytes = declareSize(bytes, 'liar.jpg', jpeg.length);
    await writeFile(path, bytes);
    photos = await openPhotos('photos.zip', dir);
    ctx = { biz: { RPMin: 'RPMin' }, baseDir: photos.path, photos, batchId: 'b' };
  });
  afterAll(() => photos.close());

  it('indexes the photos, leaving out the entry whose name leads outside', () => {
    expect(photos.kind).toBe('archive');
    expect(photos.entries).toBe(5);
    expect(photos.refusedEntries).toBe(1);
  });

  it('finds a photo by its path, with \\ as / and ./ ignored, and hands over its bytes as written', async () => {
    for (const pic of ['faces/a.jpg', 'faces\\a.jpg', './faces//a.jpg']) {
      expect(await problems(ctx, { FacePic: pic })).toEqual([]);
    }
    const check = await checkInputRow(row({ FacePic: '王芳.png' }), ctx);
    expect(check.ok).toBe(true);
    if (!check.ok) return;
    const withBytes = await withArchivePhotos(check.input, ctx);
    expect(withBytes).toMatchObject({
      bytes: png.length,
      input: {
        binding: { materials: { FacePic: { kind: 'bytes', base64: png.toString('base64') } } },
      },
    });
  });

  it('refuses absolute paths and any .. segment, naming the field and never the path', async () => {
    expect(await problems(ctx, { FacePic: '../evil.jpg' })).toEqual([
      'Binding.FacePic: leads outside the photos archive (..)',
    ]);
    expect(await problems(ctx, { FacePic: 'faces/../../evil.jpg' })).toEqual([
      'Binding.FacePic: leads outside the photos archive (..)',
    ]);
    for (const pic of ['/etc/passwd', 'C:\\photos\\a.jpg', 'file:///etc/passwd']) {
      expect(await problems(ctx, { FacePic: pic })).toEqual([
        'Binding.FacePic: is an absolute path: with --photos, give the path inside the photos archive',
      ]);
    }
  });

  it('bounds every entry: by its declared size, and while it inflates when the archive lies', async () => {
    expect(await problems(ctx, { FacePic: 'big.jpg' })).toEqual([
      'Binding.FacePic: is over 50 MB in the photos archive',
    ]);
    expect(await problems(ctx, { FacePic: 'liar.jpg' })).toEqual([
      'Binding.FacePic: inflates to more than the photos archive declares',
    ]);
    expect(await problems(ctx, { FacePic: 'missing.jpg' })).toEqual([
      'Binding.FacePic: is not in the photos archive',
    ]);
    expect(await problems(ctx, { FacePic: 'docs/doc.pdf' })).toEqual([
      'Binding.FacePic: it is a PDF, not an image',
    ]);
  });

  it('reads names written without the UTF-8 flag as Chinese Windows writes them (GBK)', () => {
    const entry = (raw: Buffer) =>
      ({ fileNameRaw: raw, generalPurposeBitFlag: 0, extraFields: [] }) as unknown as Entry;
    expect(entryName(entry(iconv.encode('照片\\王芳.jpg', 'gbk')))).toBe('照片/王芳.jpg');
    expect(entryName(entry(Buffer.from('照片/王芳.jpg')))).toBe('照片/王芳.jpg');
    expect(entryName(entry(Buffer.from('faces\\a.jpg')))).toBe('faces/a.jpg');
  });
});

describe('--photos DIR', () => {
  let photos: PhotoSource;
  let ctx: RowCheckContext;

  beforeAll(async () => {
    const folder = join(dir, 'folder');
    await mkdir(join(folder, 'faces'), { recursive: true });
    await writeFile(join(folder, 'faces/a.jpg'), jpeg);
    await writeFile(join(dir, 'outside.jpg'), jpeg);
    await symlink(join(dir, 'outside.jpg'), join(folder, 'faces/link.jpg'));
    photos = await openPhotos(folder, '/');
    ctx = { biz: { RPMin: 'RPMin' }, baseDir: photos.path, photos, batchId: 'b' };
  });

  it('finds photos inside the folder, with \\ as /', async () => {
    expect(photos.kind).toBe('folder');
    expect(await problems(ctx, { FacePic: 'faces/a.jpg' })).toEqual([]);
    expect(await problems(ctx, { FacePic: 'faces\\a.jpg' })).toEqual([]);
    const check = await checkInputRow(row({ FacePic: 'faces/a.jpg' }), ctx);
    expect(check.ok && check.input.binding.materials.FacePic).toEqual({
      kind: 'file',
      path: join(photos.path, 'faces/a.jpg'),
    });
  });

  it('refuses paths that lead outside, by .. or by a symbolic link, and absolute ones', async () => {
    expect(await problems(ctx, { FacePic: '../outside.jpg' })).toEqual([
      'Binding.FacePic: leads outside the photos folder (..)',
    ]);
    expect(await problems(ctx, { FacePic: 'faces/link.jpg' })).toEqual([
      'Binding.FacePic: leads outside the photos folder (a symbolic link)',
    ]);
    expect(await problems(ctx, { FacePic: join(photos.path, 'faces/a.jpg') })).toEqual([
      'Binding.FacePic: is an absolute path: with --photos, give the path inside the photos folder',
    ]);
    expect(await problems(ctx, { FacePic: 'faces/none.jpg' })).toEqual([
      'Binding.FacePic: file does not exist',
    ]);
  });

  it('refuses --photos that is neither a folder nor a .zip, or that does not exist', async () => {
    await expect(openPhotos('outside.jpg', dir)).rejects.toThrow(
      /give a folder or a \.zip archive/,
    );
    await expect(openPhotos('nope', dir)).rejects.toThrow(CliError);
    await writeFile(join(dir, 'fake.zip'), 'not a zip');
    await expect(openPhotos('fake.zip', dir)).rejects.toThrow(
      /is not a ZIP archive that can be read/,
    );
    await expect(photos.read('Binding.FacePic', join(photos.path, 'nope.jpg'))).rejects.toThrow(
      ValidationError,
    );
  });
});
