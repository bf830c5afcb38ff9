/**
 * Synthetic server-flow tickets (Biz RPMin): generated names, valid GB 11643 identity numbers and
 * small generated face JPEGs (testkit/generators.ts, as in the chaos run), none on the emulator's
 * reject or review lists, so that SubmitMaterials answers the verdict (passed) at once. No real
 * person's data.
 */
import { anIdNumber, faceJpegs, seededRandom } from '../../testkit/generators.js';
import type { TicketRequest } from '../../src/flow/ticket-request.js';

/** The Biz every benchmark ticket uses (server flow). */
export const BENCH_BIZ = 'RPMin';

const SURNAMES = ['张', '王', '刘', '陈', '杨', '赵', '黄', '周'];
const GIVEN = ['伟', '芳', '娜', '敏', '静', '磊', '洋', '艳', '勇', '军'];

/** Makes ticket requests for one round; faces are made once and shared. */
export class BenchTickets {
  private constructor(private readonly faces: readonly string[]) {}

  static async create(faceCount = 16): Promise<BenchTickets> {
    return new BenchTickets(await faceJpegs(faceCount));
  }

  /** `count` requests with TicketIds `<prefix>-<n>`, drawn from `seed`. */
  requests(prefix: string, count: number, seed = 7): TicketRequest[] {
    const random = seededRandom(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
    return Array.from({ length: count }, (_, i) => ({
      TicketId: `${prefix}-${String(i).padStart(6, '0')}`,
      Biz: BENCH_BIZ,
      Binding: {
        Name: `${pick(SURNAMES)}${pick(GIVEN)}`,
        IdentificationNumber: anIdNumber(random),
        FacePic: pick(this.faces),
      },
    }));
  }

  /** Mean size of a request's JSON, in bytes (the raw BullMQ job's payload). */
  requestBytes(): number {
    const sample = this.requests('size-probe', 100);
    return Math.round(
      sample.reduce((n, r) => n + Buffer.byteLength(JSON.stringify(r)), 0) / sample.length,
    );
  }
}

/** A bare-worker job's payload: the ticket request's fields, image bytes included. */
export interface BareJobData {
  ticketId: string;
  biz: string;
  name: string;
  idNumber: string;
  /** The face image as a `data:` URI. */
  face: string;
}

/** The bytes of a `data:…;base64,` image value. */
export function dataUriBytes(value: string): Buffer {
  const comma = value.indexOf(',');
  return Buffer.from(value.slice(comma + 1), 'base64');
}
