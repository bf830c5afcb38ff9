/**
 * The verification provider port: what the ticket flow needs from an identity-verification API,
 * in the domain's terms (a lease, a status answer). The executor (`ticket-steps.ts`) speaks only
 * this; each API family is one adapter behind it (`src/adapters/cloudauth/provider-2018.ts` for
 * Cloudauth 2018-09-16, `provider-financial.ts` for the financial-grade family of 2019-03-07), and
 * `RoutingProvider` (`src/adapters/cloudauth/routing-provider.ts`) picks one per ticket by the API
 * family it recorded at intake.
 *
 * The operations follow the flow's steps, not one API's actions:
 * - `precheck` checks the applicant before anything billed (financial: Id2MetaVerify, when the Biz
 *   asks for it); a mismatch is a verdict, `not_passed`;
 * - `start` takes a lease for the ticket (2018: GetVerifyToken — a VerifyToken, STS credentials for
 *   the materials, the person's page; financial ID_PRO: InitFaceVerify — CertifyId and CertifyUrl;
 *   financial ID_MIN: no call);
 * - `stage` puts the checked images where the provider reads them under that lease and answers
 *   the entries `submit` sends (2018: OSS uploads under the STS credentials; ID_MIN: the face photo
 *   inline); no provider call;
 * - `submit` hands the materials in and answers the provider's first status (2018:
 *   SubmitMaterials; ID_MIN: ContrastFaceVerify, which answers the verdict). It is the billable
 *   call: the executor persists its submit mark before it;
 * - `status` asks how the ticket stands (2018: GetStatus; ID_PRO: DescribeFaceVerify). StatusCode
 *   -1 means the provider knows no submission.
 * There is no operation for what the provider kept of the person (2018: GetMaterials): the
 * orchestrator neither fetches nor stores it (see `finish` in `ticket-steps.ts`).
 * Errors are the registry's typed {@link OrchestratorError}s: a refused lease is
 * `VERIFY_TOKEN_INVALID`/`STS_CREDENTIALS_INVALID` (answered by a new `start`), throttling is a
 * `ThrottledError`.
 */
import type { TicketBinding } from '../domain/binding.js';
import type { StatusAnswer } from '../domain/decide.js';
import type { Lease, Ticket } from '../domain/ticket.js';
import type { MaterialEntry, PreparedMaterials } from '../adapters/oss/materials.js';

/** The flow's calls to the provider; the rate limiter and throttling work per operation's action. */
export type ProviderOperation = 'precheck' | 'start' | 'submit' | 'status';

/** A ticket and its applicant, as `precheck` and `start` need them. */
export interface ProviderApplicant {
  ticket: Ticket;
  binding: TicketBinding;
  /** The caller's UserData, opaque, passed through. */
  userData?: Record<string, unknown> | undefined;
  /** Financial ID_PRO: the MetaInfo the person's browser produced. */
  metaInfo?: string | undefined;
}

export interface VerificationProvider {
  /**
   * The provider's action behind `operation` for `ticket` (2018: GetVerifyToken, SubmitMaterials,
   * GetStatus; financial: Id2MetaVerify, InitFaceVerify, ContrastFaceVerify, DescribeFaceVerify),
   * or undefined when the operation makes no call for it (no pre-check; ID_MIN's start). The QPS
   * limits (`CLOUDAUTH_QPS`), throttling blocks and metrics are keyed by it.
   */
  actionOf(ticket: Ticket, operation: ProviderOperation): string | undefined;
  /** The pre-check's answer: a verdict (StatusCode 2) ends the ticket, -1 lets it go on. */
  precheck(applicant: ProviderApplicant): Promise<StatusAnswer>;
  /** A new lease for the ticket; `now` (ms since the epoch) dates its expiries. */
  start(applicant: ProviderApplicant, now: number): Promise<Lease>;
  /** Puts the prepared images where the provider reads them under `lease`; answers the entries. */
  stage(ticket: Ticket, lease: Lease, prepared: PreparedMaterials): Promise<MaterialEntry[]>;
  /** Submits the materials under `lease`; answers the provider's status right after. */
  submit(
    ticket: Ticket,
    lease: Lease,
    binding: TicketBinding,
    staged: readonly MaterialEntry[],
  ): Promise<StatusAnswer>;
  /** The ticket's status at the provider. */
  status(ticket: Ticket): Promise<StatusAnswer>;
}
