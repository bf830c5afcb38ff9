/**
 * Image files as the CLI's preflight judges them and as the worker does: the same verdict for each
 * (valid, or refused with the same reason), so a row the preflight plans as valid never fails on
 * its image in the worker, and a bomb or a BMP the worker cannot decode is refused at preflight.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRow } from '../../src/cli/row-check.js';
import { MaterialsRejectedError, prepareMaterials } from '../../src/adapters/oss/materials.js';
import {
  PDF,
  bmpClaiming,
  bmpFile,
  jpegClaiming,
  noiseJpeg,
  pngBomb,
  quadrants,
  smallJpeg,
  smallPng,
} from '../support/images.js';

let dir: string;
const ID = '11010519491231002X';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'image-files-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The preflight's verdict on one file as FacePic: undefined when valid, else its message. */
function preflight(name: string): string | undefined {
  const check = checkRow(
    {
      TicketId: 't-1',
      Biz: 'RPMin',
      Binding: { Name: '李三', IdentificationNumber: ID, FacePic: name },
    },
    { biz: { RPMin: 'RPMin' }, baseDir: dir, batchId: 'b' },
  );
  if (check.ok) return undefined;
  expect(check.problems.map((p) => p.field)).toEqual(['Binding.FacePic']);
  return check.problems[0]?.message;
}

/** The worker's verdict on the same file. */
async function worker(name: string): Promise<string | undefined> {
  try {
    await prepareMaterials({ FacePic: { kind: 'file', path: join(dir, name) } });
    return undefined;
  } catch (err) {
    if (!(err instanceof MaterialsRejectedError)) throw err;
    return err.problems[0]?.message.replace(/^FacePic: /, '');
  }
}

describe('image files: preflight and worker agree', () => {
  it('on valid JPEG, PNG and BMP files, and on every kind of refusal', async () => {
    const bmp = (spec: Partial<Parameters<typeof bmpFile>[0]> = {}) =>
      bmpFile({ width: 40, height: 30, bitsPerPixel: 24, pixel: quadrants(40, 30), ...spec });
    const rle = bmp({ bitsPerPixel: 8 });
    rle.writeUInt32LE(1, 30);
    const jpeg = await smallJpeg();
    const bigExif = Buffer.alloc(4 + 60_000);
    bigExif.set([0xff, 0xe1, 60_002 >> 8, 60_002 & 0xff]);
    const files: [string, Buffer, string | undefined][] = [
      ['face.jpg', jpeg, undefined],
      ['exif.jpg', Buffer.concat([jpeg.subarray(0, 2), bigExif, jpeg.subarray(2)]), undefined],
      ['face.png', await smallPng(), undefined],
      ['face-24.bmp', bmp(), undefined],
      ['face-top-down.bmp', bmp({ topDown: true }), undefined],
      ['face-8.bmp', bmp({ bitsPerPixel: 8 }), undefined],
      ['face-32.bmp', bmp({ bitsPerPixel: 32, bitfields: true, headerSize: 124 }), undefined],
      ['bomb.png', await pngBomb(8000, 8000), 'is 8000×8000 px (64 MP), over the limit of 25 MP'],
      ['bomb.jpg', jpegClaiming(9000, 9000), 'is 9000×9000 px (81 MP), over the limit of 25 MP'],
      ['bomb.bmp', bmpClaiming(9000, 9000), 'is 9000×9000 px (81 MP), over the limit of 25 MP'],
      ['cut.bmp', bmp().subarray(0, 2000), 'is a damaged or truncated BMP image'],
      [
        'rle.bmp',
        rle,
        'is a run-length encoded BMP, which is not supported; send it uncompressed, as JPEG or as PNG',
      ],
      ['doc.pdf', PDF, 'it is a PDF, not an image'],
      ['empty.jpg', Buffer.alloc(0), 'the file is empty'],
    ];
    for (const [name, bytes] of files) await writeFile(join(dir, name), bytes);
    const verdicts = [];
    for (const [name] of files) verdicts.push([name, preflight(name), await worker(name)]);
    expect(verdicts).toEqual(files.map(([name, , why]) => [name, why, why]));
  }, 60_000);

  it('on a file whose pixel data is damaged past its header: only the worker decodes, and refuses it', async () => {
    const jpeg = await noiseJpeg(400, 300, 9);
    await writeFile(join(dir, 'cut.jpg'), jpeg.subarray(0, jpeg.length >> 1));
    expect(preflight('cut.jpg')).toBeUndefined();
    expect(await worker('cut.jpg')).toBe('is a damaged or truncated JPEG image');
  });
});
