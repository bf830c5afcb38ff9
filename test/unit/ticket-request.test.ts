import { describe, expect, it } from 'vitest';
import { TicketRejectedError, parseTicketRequest } from '../../src/flow/ticket-request.js';
import { pngClaiming } from '../support/images.js';

const biz = { RPMin: 'RPMin', RPH5BioOnly: 'RPH5BioOnly', RPBasic: 'RPBasic' } as const;
// a PNG header of 64×64 px: intake reads image headers (type, pixel limits), never the pixels
const FACE = `data:image/png;base64,${pngClaiming(64, 64).toString('base64')}`;

function problems(raw: unknown, options: Partial<Parameters<typeof parseTicketRequest>[1]> = {}) {
  try {
    parseTicketRequest(raw, { biz, ...options });
  } catch (err) {
    if (err instanceof TicketRejectedError) return err.problems.map((p) => [p.field, p.message]);
    throw err;
  }
  return [];
}

describe('parseTicketRequest', () => {
  it('names ten unknown keys of an object and counts the rest in one refusal', () => {
    const binding = Object.fromEntries(
      Array.from({ length: 100_000 }, (_, i) => [`Extra${i.toString(36)}`, 1]),
    );
    const found = problems({
      TicketId: 't',
      Biz: 'RPMin',
      Binding: { IdentificationNumber: '630546198009090099', ...binding },
    });
    const unknown = found.filter(([, message]) => message?.endsWith('is not a known field'));
    expect(unknown).toHaveLength(10);
    expect(found).toContainEqual([
      'Binding.(unknown fields)',
      'Binding.(unknown fields): 99990 more fields are not known',
    ]);
  });

  it('reads a server-flow request into a binding with bytes', () => {
    const input = parseTicketRequest(
      {
        TicketId: 'order-1',
        Biz: 'RPMin',
        Binding: { Name: ' 李三 ', IdentificationNumber: '11010519491231002x', FacePic: FACE },
        UserData: { orderId: '1391012388' },
      },
      { biz, batchId: 'b-1' },
    );
    expect(input).toMatchObject({
      ticketId: 'order-1',
      biz: 'RPMin',
      batchId: 'b-1',
      userData: { orderId: '1391012388' },
      binding: {
        name: '李三',
        idNumber: '11010519491231002X',
        materials: { FacePic: { kind: 'bytes' } },
      },
    });
  });

  it('names every bad field at once', () => {
    expect(
      problems({
        TicketId: 'has space',
        Biz: 'RPMin',
        Binding: { IdentificationNumber: '630546198009090099', Extra: 1 },
      }),
    ).toEqual([
      ['TicketId', 'TicketId: printable ASCII without spaces'],
      ['Binding.Extra', 'Binding.Extra: is not a known field'],
    ]);
    expect(
      problems({
        TicketId: 't',
        Biz: 'RPMin',
        Binding: { IdentificationNumber: '630546198009090099' },
      }),
    ).toEqual([
      [
        'Binding.IdentificationNumber',
        'Binding.IdentificationNumber: check digit does not match (GB 11643)',
      ],
      ['Binding.Name', 'Binding.Name: is required by RPMin'],
      ['Binding.FacePic', 'Binding.FacePic: is required by RPMin'],
    ]);
  });

  it('refuses an unknown Biz and a local path over HTTP, and takes the path from a file', () => {
    expect(problems({ TicketId: 't', Biz: 'Nope' })).toEqual([
      ['Biz', 'Biz: is not a configured Biz (configured: RPMin, RPH5BioOnly, RPBasic)'],
    ]);
    const local = {
      TicketId: 't',
      Biz: 'RPMin',
      Binding: { Name: '李三', IdentificationNumber: '11010519491231002X', FacePic: '/etc/passwd' },
    };
    expect(problems(local)[0]?.[0]).toBe('Binding.FacePic');
    const fromFile = parseTicketRequest(
      { ...local, Binding: { ...local.Binding, FacePic: 'photos/face.jpg' } },
      { biz, localFiles: { baseDir: '/data/batch' } },
    );
    expect(fromFile.binding.materials.FacePic).toEqual({
      kind: 'file',
      path: '/data/batch/photos/face.jpg',
    });
  });

  it('asks interactive schemes for image URLs, not bytes', () => {
    expect(
      problems({
        TicketId: 't',
        Biz: 'RPH5BioOnly',
        Binding: { Name: '李三', IdentificationNumber: '11010519491231002X', IdCardFrontPic: FACE },
      }),
    ).toEqual([
      [
        'Binding.IdCardFrontPic',
        'Binding.IdCardFrontPic: RPH5BioOnly is an interactive scheme: give images as https URLs or oss:// references',
      ],
    ]);
  });

  it('prefixes field names for a row of a batch', () => {
    expect(problems({ Biz: 'RPMin' }, { fieldPrefix: 'tickets[3].' })[0]?.[0]).toBe(
      'tickets[3].TicketId',
    );
  });
});
