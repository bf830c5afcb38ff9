/**
 * One provider port over both API families: each call goes to the adapter of the family the ticket
 * recorded at intake (`Ticket.family`; absent on tickets of earlier versions, which are legacy). A
 * deployment with no financial-grade Biz has no financial adapter; a ticket that names that family
 * then fails with a configuration error rather than reaching the wrong API.
 */
import type { TicketBinding } from '../../domain/binding.js';
import type { ApiFamily } from '../../domain/biz.js';
import type { StatusAnswer } from '../../domain/decide.js';
import type { Lease, Ticket } from '../../domain/ticket.js';
import { ConfigError } from '../../errors.js';
import type {
  ProviderApplicant,
  ProviderOperation,
  VerificationProvider,
} from '../../flow/provider.js';
import type { MaterialEntry, PreparedMaterials } from '../oss/materials.js';

export class RoutingProvider implements VerificationProvider {
  constructor(private readonly byFamily: Partial<Record<ApiFamily, VerificationProvider>>) {}

  private of(ticket: Ticket): VerificationProvider {
    const family = ticket.family ?? 'legacy';
    const provider = this.byFamily[family];
    if (provider === undefined) {
      throw new ConfigError(`no provider is configured for the ${family} API family`);
    }
    return provider;
  }

  actionOf(ticket: Ticket, operation: ProviderOperation): string | undefined {
    return this.of(ticket).actionOf(ticket, operation);
  }

  precheck(applicant: ProviderApplicant): Promise<StatusAnswer> {
    return this.of(applicant.ticket).precheck(applicant);
  }

  start(applicant: ProviderApplicant, now: number): Promise<Lease> {
    return this.of(applicant.ticket).start(applicant, now);
  }

  stage(ticket: Ticket, lease: Lease, prepared: PreparedMaterials): Promise<MaterialEntry[]> {
    return this.of(ticket).stage(ticket, lease, prepared);
  }

  submit(
    ticket: Ticket,
    lease: Lease,
    binding: TicketBinding,
    staged: readonly MaterialEntry[],
  ): Promise<StatusAnswer> {
    return this.of(ticket).submit(ticket, lease, binding, staged);
  }

  status(ticket: Ticket): Promise<StatusAnswer> {
    return this.of(ticket).status(ticket);
  }
}
