/**
 * A Biz: one verification scenario the business registered with Alibaba Cloud, and the API family
 * that serves it. One deployment runs both families side by side:
 * - `legacy`: Cloudauth API 2018-09-16 (GetVerifyToken, SubmitMaterials, GetStatus). A Biz is bound
 *   to a scheme in the console (`RPMin`, `RPBioOnly`, …); the scheme decides the flow.
 * - `financial`: the financial-grade family of API 2019-03-07 (金融级实人认证). A Biz here is our name
 *   for a console scene (SceneId) and a product code: `ID_PRO` is the person's browser flow
 *   (InitFaceVerify, the page behind CertifyUrl, DescribeFaceVerify), `ID_MIN` the server flow
 *   (ContrastFaceVerify with the applicant's face photo). Either may run `Id2MetaVerify` first
 *   (`precheck`): a name and ID number the authority source does not match end the ticket
 *   `not_passed` before any billed face call.
 *
 * Configured in `CLOUDAUTH_BIZ` as `Biz=Scheme` (legacy) or `Biz=financial:<ProductCode>:<SceneId>`
 * with an optional `:precheck` (see `parseBizEntry`). Pure; no I/O.
 */
import { createHash } from 'node:crypto';
import { SCHEMES, flowOf, type Flow, type Scheme } from './ticket.js';

/** The API family of a Biz, recorded on each ticket. */
export type ApiFamily = 'legacy' | 'financial';

/** The API version each family speaks. */
export const API_VERSION_OF: Readonly<Record<ApiFamily, string>> = {
  legacy: '2018-09-16',
  financial: '2019-03-07',
};

/** The financial-grade product codes the orchestrator runs (spec `cloudauth-2019.md` §1). */
export const FINANCIAL_PRODUCTS = ['ID_PRO', 'ID_MIN'] as const;
export type FinancialProduct = (typeof FINANCIAL_PRODUCTS)[number];

/** A financial-grade scenario: a console scene and the product it runs. */
export interface FinancialScene {
  family: 'financial';
  productCode: FinancialProduct;
  /** The console's SceneId (a Long, kept as digits). */
  sceneId: string;
  /** Id2MetaVerify before the face call. */
  precheck: boolean;
}

/** What a Biz is: a legacy scheme, or a financial-grade scene. */
export type BizProfile = Scheme | FinancialScene;

/** Every configured Biz by name. */
export type BizCatalogue = Readonly<Record<string, BizProfile>>;

export function familyOf(profile: BizProfile): ApiFamily {
  return typeof profile === 'string' ? 'legacy' : 'financial';
}

/** The ticket flow of a Biz: `server` when the orchestrator submits the materials itself. */
export function flowOfBiz(profile: BizProfile): Flow {
  if (typeof profile === 'string') return flowOf(profile);
  return profile.productCode === 'ID_MIN' ? 'server' : 'interactive';
}

/** How a Biz is named in messages and listings: its scheme, or `financial:ID_PRO:<SceneId>`. */
export function describeBiz(profile: BizProfile): string {
  if (typeof profile === 'string') return profile;
  return `financial:${profile.productCode}:${profile.sceneId}${profile.precheck ? ':precheck' : ''}`;
}

/** The legacy Biz only (what the 2018-09-16 emulator and preflight know), by name. */
export function legacyBiz(catalogue: BizCatalogue): Record<string, Scheme> {
  const out: Record<string, Scheme> = {};
  for (const [name, profile] of Object.entries(catalogue)) {
    if (typeof profile === 'string') out[name] = profile;
  }
  return out;
}

/** The SceneIds of the financial-grade Biz (what the 2019-03-07 emulator registers). */
export function financialSceneIds(catalogue: BizCatalogue): string[] {
  return [
    ...new Set(Object.values(catalogue).flatMap((p) => (typeof p === 'string' ? [] : [p.sceneId]))),
  ];
}

/**
 * One `CLOUDAUTH_BIZ` value: a scheme name, or `financial:<ProductCode>:<SceneId>[:precheck]`.
 * Answers the profile or a message saying what is wrong (config, never personal data).
 */
export function parseBizEntry(value: string): { profile: BizProfile } | { problem: string } {
  if ((SCHEMES as readonly string[]).includes(value)) return { profile: value as Scheme };
  const parts = value.split(':').map((p) => p.trim());
  if (parts[0] !== 'financial') {
    return { problem: `the scheme must be one of ${SCHEMES.join(', ')}` };
  }
  const [, productCode, sceneId, option, ...rest] = parts;
  if (!(FINANCIAL_PRODUCTS as readonly string[]).includes(productCode ?? '')) {
    return { problem: `the product code must be one of ${FINANCIAL_PRODUCTS.join(', ')}` };
  }
  // a Long in the API; at most 15 digits here, so that it stays exact as a JavaScript number
  if (sceneId === undefined || !/^[1-9]\d{0,14}$/.test(sceneId)) {
    return { problem: 'the SceneId must be the console scene number (up to 15 digits)' };
  }
  if ((option !== undefined && option !== 'precheck') || rest.length > 0) {
    return { problem: 'the only option after the SceneId is :precheck' };
  }
  return {
    profile: {
      family: 'financial',
      productCode: productCode as FinancialProduct,
      sceneId,
      precheck: option === 'precheck',
    },
  };
}

/**
 * The `OuterOrderNo` of a ticket (financial family): at most 32 letters and digits, where a
 * TicketId is up to 128 printable characters. A TicketId that already fits is used as it is (so a
 * support engineer finds it in the console), unless it is 32 lower-case hex digits, the form of a
 * digest; any other is the first 32 hex digits of its SHA-256 (128 bits: no two TicketIds meet in
 * practice, and the same TicketId always gives the same one, across workers and retries), so no
 * TicketId can be chosen to take another's OuterOrderNo. Both are kept on the ticket.
 */
export function outerOrderNoOf(ticketId: string): string {
  // a TicketId of exactly 32 lower-case hex digits is hashed too: it could be another's digest
  if (/^[A-Za-z0-9]{1,32}$/.test(ticketId) && !/^[0-9a-f]{32}$/.test(ticketId)) return ticketId;
  return createHash('sha256').update(ticketId, 'utf8').digest('hex').slice(0, 32);
}
