/**
 * The verification provider port (`src/flow/provider.ts`) over Cloudauth's financial-grade family
 * (API 2019-03-07, spec `cloudauth-2019.md`), for the tickets of a Biz configured as
 * `financial:<ProductCode>:<SceneId>[:precheck]` (`src/domain/biz.ts`):
 *
 * - `ID_PRO`, the person's browser flow: the ticket waits for its start link to be opened (the
 *   start page hands in the MetaInfo Alibaba's script produced in the browser), `start` calls
 *   InitFaceVerify (lease: the CertifyId, the CertifyUrl the page redirects to, 30 minutes), the
 *   provider's callback wakes the ticket and `status` asks DescribeFaceVerify (also the polling
 *   fallback when no callback comes).
 * - `ID_MIN`, the server flow: `start` makes no call, `stage` reads the applicant's staged face
 *   photo (fitted under the provider's 1 MB), `submit` is ContrastFaceVerify, which answers the
 *   verdict at once.
 * - `precheck` (either product, when the Biz asks): Id2MetaVerify; a name and number the authority
 *   source does not match (BizCode 2), or does not know (3), is a verdict, `not_passed`, before any
 *   billed face call.
 *
 * Choices where the spec says NOT FOUND:
 * - ContrastFaceVerify cannot be looked up afterwards (DescribeFaceVerify needs the CertifyId its
 *   answer carries), and whether the provider deduplicates or bills a repeat with the same
 *   OuterOrderNo is not documented. So it is sent at most once: `status` answers -1 with
 *   `noLookup`, and a submit mark whose call may have reached the provider (a worker that died
 *   during the call, a timeout, a connection cut after sending) ends the ticket
 *   `SUBMISSION_OUTCOME_UNKNOWN` (an operator's `retry` sends it again; `UNKNOWN_SUBMISSION=resubmit`
 *   chooses at-least-once instead). A call refused with a code, or never sent, releases its mark.
 *   The window is the one call's round trip: the mark is set inside the rate limiter's slot, right
 *   before the request.
 * - Id2MetaVerify (billed per call, with no order number to look it up by) likewise: a pre-check
 *   whose outcome was lost is not made again; the face verification judges the name and number
 *   too (SubCode 201), so the ticket's verdict is the same, only dearer.
 * - DescribeFaceVerify's 424 (no submission yet) and 403 (not finished) are StatusCode -1: the
 *   person has not finished; the ticket expires when the CertifyUrl's 30 minutes are over.
 */
import type { TicketBinding } from '../../domain/binding.js';
import { outerOrderNoOf, type BizCatalogue, type FinancialScene } from '../../domain/biz.js';
import type { StatusAnswer } from '../../domain/decide.js';
import type { Lease, Ticket } from '../../domain/ticket.js';
import { OrchestratorError, ValidationError } from '../../errors.js';
import type {
  ProviderApplicant,
  ProviderOperation,
  VerificationProvider,
} from '../../flow/provider.js';
import type { ImageDecoding } from '../oss/decode-limit.js';
import { fitImage } from '../oss/image-fit.js';
import type { MaterialEntry, PreparedMaterials } from '../oss/materials.js';
import type { Cloudauth2019Client } from './client-2019.js';
import type { Applicant, FacePhotoSource, FaceVerdict } from './types-2019.js';

/** The CertifyUrl's life (spec §4): the person has this long to finish. */
export const CERTIFY_URL_LIFETIME_MS = 30 * 60 * 1000;
/**
 * An ID_MIN lease makes no call and holds no credential; it is renewed (again without a call) if a
 * ticket sits in `token_issued` this long.
 */
const CONTRAST_LEASE_MS = 24 * 60 * 60 * 1000;
/** The largest photo ContrastFaceVerify takes (spec §6: under 1 MB). */
export const CONTRAST_PHOTO_LIMIT_BYTES = 1024 * 1024 - 1;

/** What the start page and the callback are reached at (see `src/flow/start-links.ts`). */
export interface FaceVerifyLinks {
  /** Where the person's browser returns after the provider's page. */
  returnUrl(ticket: Ticket): string;
  /** The provider's callback for `ticket` (undefined: none, polling only). */
  callbackUrl(ticket: Ticket): string | undefined;
  /** The token the provider echoes in the callback, which authenticates it. */
  callbackToken(ticket: Ticket): string;
}

export interface FinancialProviderDeps {
  client: Cloudauth2019Client;
  /** Every configured Biz; a ticket's scene is its Biz's. */
  catalogue: BizCatalogue;
  links: FaceVerifyLinks;
  /** The process's image limits and decode gate, for fitting a photo under 1 MB. */
  images?: ImageDecoding | undefined;
}

const ACTIONS: Readonly<
  Record<FinancialScene['productCode'], Record<ProviderOperation, string | undefined>>
> = {
  ID_PRO: {
    precheck: 'Id2MetaVerify',
    start: 'InitFaceVerify',
    submit: undefined,
    status: 'DescribeFaceVerify',
  },
  ID_MIN: {
    precheck: 'Id2MetaVerify',
    start: undefined,
    submit: 'ContrastFaceVerify',
    status: undefined,
  },
};

/** What a SubCode means, for the verdict's conclusions (spec §8.2). */
const SUBCODE_MEANING: Readonly<Record<string, string>> = {
  '200': 'passed',
  '201': 'name and ID number do not match',
  '202': 'identity not found at the authority source',
  '203': 'the authority photo is missing or unusable',
  '204': 'the face does not match',
  '205': 'liveness risk (a possible attack)',
  '206': 'refused by the business policy',
  '207': 'the face does not match the ID card portrait',
  '209': 'the authority source is abnormal',
};

export class CloudauthFinancialProvider implements VerificationProvider {
  constructor(private readonly deps: FinancialProviderDeps) {}

  actionOf(ticket: Ticket, operation: ProviderOperation): string | undefined {
    const scene = this.sceneOf(ticket);
    if (operation === 'precheck' && !scene.precheck) return undefined;
    return ACTIONS[scene.productCode][operation];
  }

  async precheck({ binding }: ProviderApplicant): Promise<StatusAnswer> {
    const { outcome } = await this.deps.client.id2MetaVerify(applicantOf(binding));
    if (outcome === 'match') return { statusCode: -1 };
    const subCode = outcome === 'mismatch' ? '201' : '202';
    return {
      statusCode: 2,
      subCode,
      auditConclusions: `Id2MetaVerify: ${SUBCODE_MEANING[subCode]}`,
    };
  }

  async start({ ticket, binding, metaInfo }: ProviderApplicant, now: number): Promise<Lease> {
    const scene = this.sceneOf(ticket);
    const outerOrderNo = outerOrderNoOf(ticket.ticketId);
    if (scene.productCode === 'ID_MIN') {
      return {
        verifyToken: outerOrderNo,
        tokenExpiresAt: now + CONTRAST_LEASE_MS,
        pageUrl: '',
        issuedAt: now,
      };
    }
    if (metaInfo === undefined) {
      // the decider starts an ID_PRO ticket only once its start page handed MetaInfo in
      throw new OrchestratorError('INTERNAL_ERROR', 'InitFaceVerify without the browser MetaInfo');
    }
    const { links } = this.deps;
    const callbackUrl = links.callbackUrl(ticket);
    const r = await this.deps.client.initFaceVerify({
      sceneId: Number(scene.sceneId),
      outerOrderNo,
      applicant: applicantOf(binding),
      metaInfo,
      returnUrl: links.returnUrl(ticket),
      ...(callbackUrl === undefined
        ? {}
        : { callbackUrl, callbackToken: links.callbackToken(ticket) }),
      model: 'MOVE_ACTION',
      certifyUrlType: 'H5',
    });
    return {
      verifyToken: r.certifyId,
      tokenExpiresAt: now + CERTIFY_URL_LIFETIME_MS,
      pageUrl: r.certifyUrl,
      issuedAt: now,
    };
  }

  /** ID_MIN: the face photo, inline (fitted under 1 MB) or as the URL or OSS object given. */
  async stage(
    _ticket: Ticket,
    _lease: Lease,
    prepared: PreparedMaterials,
  ): Promise<MaterialEntry[]> {
    const face = prepared.ready.find((m) =>
      m.kind === 'image' ? m.image.field === 'FacePic' : m.field === 'FacePic',
    );
    if (face === undefined) throw new ValidationError('Binding.FacePic', 'is required by ID_MIN');
    if (face.kind === 'reference') return [{ type: 'FacePic', value: face.value }];
    let bytes = face.image.bytes;
    if (bytes.length > CONTRAST_PHOTO_LIMIT_BYTES) {
      const refit = await fitImage('Binding.FacePic', bytes, {
        limitBytes: CONTRAST_PHOTO_LIMIT_BYTES,
        ...(this.deps.images === undefined ? {} : { decoding: this.deps.images }),
      });
      bytes = refit.bytes;
    }
    return [{ type: 'FacePic', value: `base64://${bytes.toString('base64')}` }];
  }

  async submit(
    ticket: Ticket,
    lease: Lease,
    binding: TicketBinding,
    staged: readonly MaterialEntry[],
  ): Promise<StatusAnswer> {
    const scene = this.sceneOf(ticket);
    if (scene.productCode !== 'ID_MIN') {
      throw new OrchestratorError('INTERNAL_ERROR', `${scene.productCode} has no submission`);
    }
    const face = staged.find((e) => e.type === 'FacePic');
    if (face === undefined) throw new ValidationError('Binding.FacePic', 'is required by ID_MIN');
    const verdict = await this.deps.client.contrastFaceVerify({
      sceneId: Number(scene.sceneId),
      outerOrderNo: lease.verifyToken,
      applicant: applicantOf(binding),
      photo: photoSourceOf(face.value),
    });
    return answerOf(verdict);
  }

  async status(ticket: Ticket): Promise<StatusAnswer> {
    const scene = this.sceneOf(ticket);
    const certifyId = ticket.lease?.verifyToken;
    // ID_MIN: nothing to look up (see the file's comment); no lease: nothing started
    if (scene.productCode === 'ID_MIN') return { statusCode: -1, noLookup: true };
    if (certifyId === undefined) return { statusCode: -1 };
    try {
      const verdict = await this.deps.client.describeFaceVerify({
        sceneId: Number(scene.sceneId),
        certifyId,
      });
      return answerOf(verdict);
    } catch (err) {
      if (err instanceof OrchestratorError && err.code === 'VERIFICATION_PENDING') {
        return { statusCode: -1 };
      }
      throw err;
    }
  }

  private sceneOf(ticket: Ticket): FinancialScene {
    const profile = this.deps.catalogue[ticket.biz];
    if (profile === undefined || typeof profile === 'string') {
      // a Biz removed from (or changed in) CLOUDAUTH_BIZ while its tickets run: an operator's fix
      throw new ValidationError('Biz', 'is no longer a configured financial-grade Biz');
    }
    return profile;
  }
}

function applicantOf(binding: TicketBinding): Applicant {
  if (binding.name === undefined) throw new ValidationError('Binding.Name', 'is required');
  if (binding.idNumber === undefined) {
    throw new ValidationError('Binding.IdentificationNumber', 'is required');
  }
  return { name: binding.name, idNumber: binding.idNumber };
}

/** A staged entry's value as the provider's photo source. */
function photoSourceOf(value: string): FacePhotoSource {
  if (value.startsWith('base64://')) return { kind: 'base64', data: value.slice(9) };
  const oss = /^oss:\/\/([^:]+):(.+)$/.exec(value);
  if (oss) return { kind: 'oss', bucket: oss[1] as string, object: oss[2] as string };
  return { kind: 'url', url: value };
}

/** The domain's answer of a verdict: 1 passed, 2 not; the similarity score; the SubCode. */
function answerOf(v: FaceVerdict): StatusAnswer {
  const meaning = SUBCODE_MEANING[v.subCode];
  return {
    statusCode: v.passed ? 1 : 2,
    subCode: v.subCode,
    certifyId: v.certifyId,
    ...(v.material?.verifyScore === undefined ? {} : { similarityScore: v.material.verifyScore }),
    ...(v.passed || meaning === undefined ? {} : { auditConclusions: meaning }),
  };
}
