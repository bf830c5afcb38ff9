/**
 * The tickets of a chaos run, drawn from a seeded generator, both API families mixed:
 * - ~45% `RPMin` (legacy server flow, a small generated JPEG as `data:` base64);
 * - ~20% `RPH5BioOnly` (legacy H5: the person completes, fails or leaves the emulator's H5 page);
 * - ~20% `FaceServer` (financial ID_MIN with the Id2MetaVerify pre-check, then ContrastFaceVerify
 *   with the photo);
 * - ~15% `FaceH5` (financial ID_PRO: the person opens the start link, hands in MetaInfo, and
 *   completes or fails the CertifyUrl page; never leaves: a CertifyUrl lives 30 minutes).
 * Valid GB 11643 identity numbers, some names on the emulator's reject and review lists (the run
 * gives the emulator these lists), and a few items the intake must refuse.
 */
import { anIdNumber, seededRandom } from '../testkit/generators.js';

/** The emulator's reject list of the run: not passed (2018 StatusCode 2; 2019 SubCode 201). */
export const REJECT_NAME = '拒绝';
/** The emulator's review list of the run: under review, then passed (2019: passed at once). */
export const REVIEW_NAME = 'Review Me';

/** The Biz of a run and what each is in `CLOUDAUTH_BIZ`. */
export const CHAOS_BIZ = {
  RPMin: 'RPMin',
  RPH5BioOnly: 'RPH5BioOnly',
  FaceServer: 'financial:ID_MIN:1000000007:precheck',
  FaceH5: 'financial:ID_PRO:1000000006',
} as const;
export type ChaosBiz = keyof typeof CHAOS_BIZ;
export const CHAOS_BIZ_NAMES = Object.keys(CHAOS_BIZ) as ChaosBiz[];

/** `CLOUDAUTH_BIZ` of the run: both families. */
export const CHAOS_BIZ_SETTING = Object.entries(CHAOS_BIZ)
  .map(([biz, scheme]) => `${biz}=${scheme}`)
  .join(',');

/** The Biz served by the financial-grade family (API 2019-03-07). */
export function isFinancial(biz: ChaosBiz): boolean {
  return biz === 'FaceServer' || biz === 'FaceH5';
}

/** Server flow: the orchestrator submits the materials itself. */
export function isServerFlow(biz: ChaosBiz): boolean {
  return biz === 'RPMin' || biz === 'FaceServer';
}

/** What the simulated person does with a legacy interactive ticket's page. */
export type H5Plan = 'complete' | 'fail' | 'leave';

/** What the simulated person does with a FaceH5 ticket's CertifyUrl page. */
export type FacePlan = 'complete' | 'fail';

/** Which list the applicant's name is on (the name itself is never reported). */
export type NameKind = 'reject' | 'review' | 'plain';

/** One planned ticket. */
export interface PlannedTicket {
  ticketId: string;
  biz: ChaosBiz;
  nameKind: NameKind;
  /** The item of `POST /v1/tickets/batch`. */
  request: Record<string, unknown>;
  /** False for the items made invalid on purpose (the intake must refuse them). */
  valid: boolean;
  /** RPH5BioOnly only. */
  h5?: { plan: H5Plan; delayMs: number };
  /**
   * FaceH5 only: the start link opened `openDelayMs` after the ticket is seen queued, the
   * CertifyUrl page answered `thinkMs` after it is ready.
   */
  face?: { plan: FacePlan; openDelayMs: number; thinkMs: number };
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

/** Cumulative shares of the Biz, in this order. */
const MIX: readonly [ChaosBiz, number][] = [
  ['RPMin', 0.45],
  ['RPH5BioOnly', 0.65],
  ['FaceServer', 0.85],
  ['FaceH5', 1],
];

/** The tickets of one run, in enqueue order. */
export function planTickets(options: TicketPlanOptions, faces: readonly string[]): PlannedTicket[] {
  const random = seededRandom(options.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const tickets: PlannedTicket[] = [];
  for (let i = 0; i < options.count; i++) {
    const ticketId = `chaos-${options.runId}-${String(i).padStart(5, '0')}`;
    const roll = random();
    const nameKind: NameKind = roll < 0.08 ? 'reject' : roll < 0.12 ? 'review' : 'plain';
    const name =
      nameKind === 'reject'
        ? REJECT_NAME
        : nameKind === 'review'
          ? REVIEW_NAME
          : `${pick(SURNAMES)}${pick(GIVEN)}`;
    const idNumber = anIdNumber(random);
    const valid = random() >= 0.01;
    const bizRoll = random();
    const biz = (MIX.find(([, upTo]) => bizRoll < upTo) ?? MIX[0])?.[0] ?? 'RPMin';
    const base = { ticketId, biz, nameKind, valid };
    switch (biz) {
      case 'RPMin':
      case 'FaceServer':
        tickets.push({
          ...base,
          request: {
            TicketId: ticketId,
            Biz: biz,
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
        break;
      case 'RPH5BioOnly': {
        const p = random();
        const plan: H5Plan = p < 0.65 ? 'complete' : p < 0.8 ? 'fail' : 'leave';
        tickets.push({
          ...base,
          request: {
            TicketId: ticketId,
            Biz: biz,
            // an invalid item: an image the interactive flow does not take
            Binding: valid
              ? { Name: name, IdentificationNumber: idNumber }
              : { Name: name, IdentificationNumber: idNumber, FacePic: pick(faces) },
          },
          // completed between 1 s and 40% of the token's life after the page URL is out
          h5: { plan, delayMs: 1000 + Math.floor(random() * Math.max(1, options.tokenMs * 0.4)) },
        });
        break;
      }
      case 'FaceH5': {
        const plan: FacePlan = random() < 0.8 ? 'complete' : 'fail';
        tickets.push({
          ...base,
          request: {
            TicketId: ticketId,
            Biz: biz,
            // an invalid item: the financial browser flow takes no photo (the person's is live)
            Binding: valid
              ? { Name: name, IdentificationNumber: idNumber }
              : { Name: name, IdentificationNumber: idNumber, FacePic: pick(faces) },
          },
          face: {
            plan,
            openDelayMs: 500 + Math.floor(random() * 4000),
            thinkMs: 500 + Math.floor(random() * 4000),
          },
        });
        break;
      }
    }
  }
  return tickets;
}

function wrongCheck(idNumber: string): string {
  const right = idNumber.at(-1);
  return right === '1' ? '2' : '1';
}
