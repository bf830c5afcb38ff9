/**
 * The verification provider port (`src/flow/provider.ts`) over Cloudauth 2018-09-16: a lease is a
 * GetVerifyToken answer (VerifyToken, STS credentials, the H5 page), materials are staged in OSS
 * under the lease's STS credentials, submitted with SubmitMaterials, and the ticket is followed
 * with GetStatus (keyed by Biz and TicketId, so it needs no lease). GetMaterials is not part of the
 * flow (see the port); `CloudauthClient.getMaterials` remains for a business that calls it itself.
 */
import type { TicketBinding } from '../../domain/binding.js';
import type { StatusAnswer } from '../../domain/decide.js';
import type { Lease, Ticket } from '../../domain/ticket.js';
import type {
  ProviderApplicant,
  ProviderOperation,
  VerificationProvider,
} from '../../flow/provider.js';
import { OrchestratorError } from '../../errors.js';
import { uploadMaterials, type MaterialEntry, type PreparedMaterials } from '../oss/materials.js';
import type { MaterialUploader } from '../oss/uploader.js';
import type { CloudauthClient } from './client.js';
import type { GetVerifyTokenResult, VerifyStatus } from './types.js';

const ACTIONS: Readonly<Record<ProviderOperation, string | undefined>> = {
  precheck: undefined,
  start: 'GetVerifyToken',
  submit: 'SubmitMaterials',
  status: 'GetStatus',
};

export class Cloudauth2018Provider implements VerificationProvider {
  actionOf(_ticket: Ticket, operation: ProviderOperation): string | undefined {
    return ACTIONS[operation];
  }

  /** The legacy API has no pre-check: every ticket goes on. */
  precheck(): Promise<StatusAnswer> {
    return Promise.resolve({ statusCode: -1 });
  }

  constructor(
    private readonly client: CloudauthClient,
    private readonly uploader: MaterialUploader,
  ) {}

  async start({ ticket, binding, userData }: ProviderApplicant, now: number): Promise<Lease> {
    const r = await this.client.getVerifyToken({
      biz: ticket.biz,
      ticketId: ticket.ticketId,
      binding: cloudauthBindingOf(ticket, binding),
      ...(userData === undefined ? {} : { userData }),
    });
    return leaseOf(r, now);
  }

  stage(_ticket: Ticket, lease: Lease, prepared: PreparedMaterials): Promise<MaterialEntry[]> {
    if (lease.sts === undefined) {
      return Promise.reject(
        new OrchestratorError('INTERNAL_ERROR', 'a legacy lease without STS credentials'),
      );
    }
    return uploadMaterials(this.uploader, lease.sts, prepared);
  }

  async submit(
    _ticket: Ticket,
    lease: Lease,
    binding: TicketBinding,
    staged: readonly MaterialEntry[],
  ): Promise<StatusAnswer> {
    const materials = [
      ...(binding.name ? [{ type: 'Name', value: binding.name }] : []),
      ...(binding.idNumber ? [{ type: 'IdentificationNumber', value: binding.idNumber }] : []),
      ...staged,
    ];
    return statusAnswerOf(
      await this.client.submitMaterials({ verifyToken: lease.verifyToken, materials }),
    );
  }

  async status(ticket: Ticket): Promise<StatusAnswer> {
    return statusAnswerOf(
      await this.client.getStatus({ biz: ticket.biz, ticketId: ticket.ticketId }),
    );
  }
}

/** The domain's status answer: the StatusCode and the scores, without the request's id. */
function statusAnswerOf(r: VerifyStatus & { authorityComparisonScore?: number }): StatusAnswer {
  return {
    statusCode: r.statusCode,
    ...(r.trustedScore === undefined ? {} : { trustedScore: r.trustedScore }),
    ...(r.similarityScore === undefined ? {} : { similarityScore: r.similarityScore }),
    ...(r.authorityComparisonScore === undefined
      ? {}
      : { authorityComparisonScore: r.authorityComparisonScore }),
    ...(r.auditConclusions === undefined ? {} : { auditConclusions: r.auditConclusions }),
  };
}

/** The binding GetVerifyToken sends: name and number; the interactive flow's materials too. */
function cloudauthBindingOf(t: Ticket, binding: TicketBinding): Record<string, string> {
  const out: Record<string, string> = {};
  if (binding.name) out.Name = binding.name;
  if (binding.idNumber) out.IdentificationNumber = binding.idNumber;
  if (t.flow === 'interactive') {
    for (const [field, s] of Object.entries(binding.materials)) {
      if (s.kind === 'url') out[field] = s.url;
      else if (s.kind === 'oss') out[field] = s.ref;
    }
  }
  return out;
}

/** The lease of a GetVerifyToken answer; an unparseable STS Expiration counts as the token's. */
export function leaseOf(
  r: GetVerifyTokenResult,
  now: number,
): Lease & { sts: NonNullable<Lease['sts']> } {
  const tokenExpiresAt = now + r.verifyToken.durationSeconds * 1000;
  const stsExpiresAt = Date.parse(r.stsToken.expiration);
  return {
    verifyToken: r.verifyToken.token,
    tokenExpiresAt,
    sts: {
      accessKeyId: r.stsToken.accessKeyId,
      accessKeySecret: r.stsToken.accessKeySecret,
      securityToken: r.stsToken.token,
      endPoint: r.stsToken.endPoint,
      bucketName: r.stsToken.bucketName,
      path: r.stsToken.path,
      expiresAt: Number.isNaN(stsExpiresAt) ? tokenExpiresAt : stsExpiresAt,
    },
    pageUrl: r.cloudauthPageUrl,
    issuedAt: now,
  };
}
