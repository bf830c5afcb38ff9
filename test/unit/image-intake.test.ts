import { describe, expect, it } from 'vitest';
import { TicketRejectedError, parseTicketRequest } from '../../src/flow/ticket-request.js';
import {
  PDF,
  bmpClaiming,
  bmpFile,
  jpegClaiming,
  pngClaiming,
  quadrants,
} from '../support/images.js';

const biz = { RPMin: 'RPMin' } as const;
const ID = '11010519491231002X';
const dataUrl = (type: string, bytes: Buffer) =>
  `data:image/${type};base64,${bytes.toString('base64')}`;

function problemsOf(
  binding: Record<string, string>,
  limits?: { maxPixels: number; maxSidePx: number },
) {
  try {
    parseTicketRequest(
      {
        TicketId: 't-1',
        Biz: 'RPMin',
        Binding: { Name: '李三', IdentificationNumber: ID, ...binding },
      },
      { biz, ...(limits === undefined ? {} : { imageLimits: limits }) },
    );
  } catch (err) {
    if (err instanceof TicketRejectedError) return err.problems.map((p) => [p.field, p.message]);
    throw err;
  }
  return [];
}

describe('images at intake', () => {
  it('refuses image bytes over the pixel limit from their headers, naming each field and size', () => {
    expect(
      problemsOf({
        FacePic: dataUrl('png', pngClaiming(16_000, 16_000)),
        IdCardFrontPic: `base64://${jpegClaiming(20_000, 10_000).toString('base64')}`,
        IdCardBackPic: dataUrl('bmp', bmpClaiming(8000, -8000)),
      }),
    ).toEqual([
      ['Binding.FacePic', 'Binding.FacePic: is 16000×16000 px (256 MP), over the limit of 25 MP'],
      [
        'Binding.IdCardFrontPic',
        'Binding.IdCardFrontPic: is 20000×10000 px (200 MP), over the limit of 25 MP',
      ],
      [
        'Binding.IdCardBackPic',
        'Binding.IdCardBackPic: is 8000×8000 px (64 MP), over the limit of 25 MP',
      ],
    ]);
  });

  it('applies the configured limits', () => {
    const face = { FacePic: dataUrl('png', pngClaiming(3000, 2000)) };
    expect(problemsOf(face)).toEqual([]);
    expect(problemsOf(face, { maxPixels: 5_000_000, maxSidePx: 16_384 })).toEqual([
      ['Binding.FacePic', 'Binding.FacePic: is 3000×2000 px (6 MP), over the limit of 5 MP'],
    ]);
  });

  it('refuses bytes that are no image, a cut header and a BMP the worker cannot decode', () => {
    const bmp = bmpFile({ width: 8, height: 8, bitsPerPixel: 24, pixel: quadrants(8, 8) });
    expect(
      problemsOf({
        FacePic: dataUrl('jpeg', PDF),
        IdCardFrontPic: dataUrl('png', pngClaiming(64, 64).subarray(0, 20)),
        IdCardBackPic: dataUrl('bmp', bmp.subarray(0, bmp.length - 1)),
      }),
    ).toEqual([
      ['Binding.FacePic', 'Binding.FacePic: it is a PDF, not an image'],
      ['Binding.IdCardFrontPic', 'Binding.IdCardFrontPic: is a damaged or truncated PNG image'],
      ['Binding.IdCardBackPic', 'Binding.IdCardBackPic: is a damaged or truncated BMP image'],
    ]);
    expect(problemsOf({ FacePic: dataUrl('bmp', bmp) })).toEqual([]);
  });
});
