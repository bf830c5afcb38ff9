/**
 * Enqueues the planned tickets through `POST /v1/tickets/batch`, paced over a given time so that
 * the Redis crash can land in the middle of the intake. A batch that fails (5xx during the outage,
 * a timeout) is sent again as it was: a TicketId accepted the first time is a `duplicate` the
 * second, so nothing is accepted twice and nothing acknowledged is dropped by the producer.
 */
import type { OrchestratorApi } from './api-client.js';
import type { PlannedTicket } from './chaos-tickets.js';
import { sleep } from '../testkit/waiting.js';

/** One item's answer in a batch result. */
interface BatchItemResult {
  index: number;
  TicketId: string | null;
  outcome: 'created' | 'duplicate' | 'conflict' | 'invalid';
  problems?: { field: string; message: string }[];
}

/** What the intake said about the planned tickets. */
export interface IntakeResult {
  /** TicketIds answered `created` or `duplicate`. */
  accepted: Set<string>;
  /** TicketIds refused as invalid. */
  rejected: Set<string>;
  /** Findings: valid items refused, invalid items accepted, conflicts, bad answers. */
  problems: string[];
  /** When each accepted TicketId was acknowledged (ms since the epoch). */
  acceptedAt: Map<string, number>;
}

/** Options of {@link enqueueTickets}. */
export interface ProducerOptions {
  api: OrchestratorApi;
  batchId: string;
  batchSize: number;
  /** Spread the batches evenly over this long, in ms. */
  spreadMs: number;
  /** Told after each batch. */
  onProgress?: (accepted: number) => void;
}

export async function enqueueTickets(
  tickets: readonly PlannedTicket[],
  options: ProducerOptions,
): Promise<IntakeResult> {
  const result: IntakeResult = {
    accepted: new Set(),
    rejected: new Set(),
    problems: [],
    acceptedAt: new Map(),
  };
  const batches: PlannedTicket[][] = [];
  for (let i = 0; i < tickets.length; i += options.batchSize) {
    batches.push(tickets.slice(i, i + options.batchSize));
  }
  const started = Date.now();
  for (const [b, batch] of batches.entries()) {
    const due = started + (options.spreadMs * b) / Math.max(1, batches.length);
    if (due > Date.now()) await sleep(due - Date.now());
    const answer = await options.api.post<{ results?: BatchItemResult[] }>('/v1/tickets/batch', {
      batchId: options.batchId,
      tickets: batch.map((t) => t.request),
    });
    const results = answer.body.results;
    if (answer.status !== 200 || !Array.isArray(results) || results.length !== batch.length) {
      result.problems.push(`batch ${b}: answered ${answer.status} ${JSON.stringify(answer.body)}`);
      continue;
    }
    const now = Date.now();
    for (const [i, planned] of batch.entries()) {
      const r = results[i];
      if (r === undefined) continue;
      if (r.outcome === 'created' || r.outcome === 'duplicate') {
        result.accepted.add(planned.ticketId);
        result.acceptedAt.set(planned.ticketId, now);
        if (!planned.valid) result.problems.push(`${planned.ticketId}: invalid item accepted`);
      } else if (r.outcome === 'invalid') {
        result.rejected.add(planned.ticketId);
        if (planned.valid) {
          result.problems.push(
            `${planned.ticketId}: valid item refused (${JSON.stringify(r.problems)})`,
          );
        }
      } else {
        result.problems.push(`${planned.ticketId}: ${r.outcome}`);
      }
    }
    options.onProgress?.(result.accepted.size);
  }
  return result;
}
