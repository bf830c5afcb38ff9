/**
 * The tickets of a chaos run, drawn from a seeded generator: ~70% server flow (RPMin, a small
 * generated JPEG as `data:` base64) and ~30% interactive (RPH5BioOnly), with valid GB 11643
 * identity numbers, some names on the emulator's reject and review lists, a few items the intake
 * must refuse, and for each interactive ticket what the "person" will do on the H5 page.
 */
import { anIdNumber, seededRandom } from '../testkit/generators.js';

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
