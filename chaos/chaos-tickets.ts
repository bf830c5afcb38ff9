/**
 * The tickets of a chaos run, drawn from a seeded generator: ~70% server flow (RPMin, a small
 * generated JPEG as `data:` base64) and ~30% interactive (RPH5BioOnly), with valid GB 11643
 * identity numbers, some names on the emulator's reject and review lists, a few items the intake
 * must refuse, and for each interactive ticket what the "person" will do on the H5 page.
 */
import sharp from 'sharp';
import { idNumberCheckChar } from '../src/domain/id-number.js';

/** What the simulated person does with an interactive ticket's page. */
export type H5Plan = 'complete' | 'fail' | 'leave';

/** One planned ticket. */
export interface PlannedTicket {
  ticketId: string;
  biz: 'RPMin' | 'RPH5BioOnly';
  /** The item of `POST /v1/tickets/batch`. */
  request: Record<string, unknown>;
  /** False for the items made invalid on purpose (the intake must refuse them). */
  valid: boolean;
  /** Interactive tickets only. */
  h5?: { plan: H5Plan; delayMs: number };
}

/** The run's plan. */
export interface TicketPlanOptions {
  count: number;
  runId: string;
  seed: number;
  /** Lifetime of a VerifyToken, in ms: completions are drawn well inside it. */
  tokenMs: number;
}

const SURNAMES = ['张', '王', '刘', '陈', '杨', '赵', '黄', '周', '吴', '徐', '孙', '胡'];
const GIVEN = ['伟', '芳', '娜', '敏', '静', '磊', '洋', '艳', '勇', '军', '杰', '涛', '明', '霞'];
const REGIONS = ['110105', '310104', '440305', '330106', '510107', '420106', '320102', '610113'];

/** mulberry32: small, fast, seeded. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A valid identity number (region, birth date 1950–2004, sequence, check character). */
export function anIdNumber(random: () => number): string {
  const region = REGIONS[Math.floor(random() * REGIONS.length)] ?? '110105';
  const birth = new Date(Date.UTC(1950, 0, 1) + Math.floor(random() * 55 * 365.25) * 86_400_000);
  const date = birth.toISOString().slice(0, 10).replaceAll('-', '');
  const seq = String(Math.floor(random() * 1000)).padStart(3, '0');
  const first17 = `${region}${date}${seq}`;
  return `${first17}${idNumberCheckChar(first17)}`;
}

/** Small JPEGs of distinct colours (distinct bytes: distinct content-addressed OSS keys). */
export async function faceJpegs(count: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const hue = Math.round((360 * i) / count);
    const jpeg = await sharp({
      create: {
        width: 48,
        height: 64,
        channels: 3,
        background: `hsl(${hue}, 60%, 55%)`,
      },
    })
      .jpeg({ quality: 80 })
      .toBuffer();
    out.push(`data:image/jpeg;base64,${jpeg.toString('base64')}`);
  }
  return out;
}

/** The tickets of one run, in enqueue order. */
export function planTickets(options: TicketPlanOptions, faces: readonly string[]): PlannedTicket[] {
  const random = seededRandom(options.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const tickets: PlannedTicket[] = [];
  for (let i = 0; i < options.count; i++) {
    const ticketId = `chaos-${options.runId}-${String(i).padStart(5, '0')}`;
    const roll = random();
    const name =
      roll < 0.08 ? '拒绝' : roll < 0.12 ? 'Review Me' : `${pick(SURNAMES)}${pick(GIVEN)}`;
    const idNumber = anIdNumber(random);
    const valid = random() >= 0.01;
    if (random() < 0.7) {
      tickets.push({
        ticketId,
        biz: 'RPMin',
        valid,
        request: {
          TicketId: ticketId,
          Biz: 'RPMin',
          Binding: {
            Name: name,
            // an invalid item: a check character that does not match
            IdentificationNumber: valid
              ? idNumber
              : `${idNumber.slice(0, 17)}${wrongCheck(idNumber)}`,
            FacePic: pick(faces),
          },
        },
      });
    } else {
      const p = random();
      const plan: H5Plan = p < 0.65 ? 'complete' : p < 0.8 ? 'fail' : 'leave';
      tickets.push({
        ticketId,
        biz: 'RPH5BioOnly',
        valid,
        request: {
          TicketId: ticketId,
          Biz: 'RPH5BioOnly',
          Binding: valid
            ? { Name: name, IdentificationNumber: idNumber }
            : { Name: name, IdentificationNumber: idNumber, FacePic: pick(faces) },
        },
        // completed between 1 s and 40% of the token's life after the page URL is out
        h5: { plan, delayMs: 1000 + Math.floor(random() * Math.max(1, options.tokenMs * 0.4)) },
      });
    }
  }
  return tickets;
}

function wrongCheck(idNumber: string): string {
  const right = idNumber.at(-1);
  return right === '1' ? '2' : '1';
}
