/**
 * `POST /v1/tickets/batch`: many tickets in one request, each judged on its own. Valid items are
 * accepted in one `enqueueMany` whatever is wrong with the others; the answer has one result per
 * item, in order.
 */
import { randomBytes } from 'node:crypto';
import type { TicketInput } from '../flow/ticket-intake.js';
import { parseOrProblem, type RouteSpec } from './route-spec.js';
import {
  batchEnvelopeSchema,
  batchRequestSchema,
  batchResultSchema,
  type BatchResultView,
} from './schemas.js';
import type { TicketRouteDeps } from './ticket-routes.js';
import { oncePerUrl, validateTicketRequest } from './ticket-validation.js';

/** What the batch route needs. */
export interface BatchRouteDeps extends TicketRouteDeps {
  /** Most tickets per request (`API_BATCH_MAX`). */
  batchMax: number;
  /** ms since the epoch, for generated batch ids; default `Date.now`. */
  clock?: () => number;
}

/** A new batch id, `b-YYYYMMDD-<8 hex>` (UTC date). */
export function newBatchId(now: number): string {
  const day = new Date(now).toISOString().slice(0, 10).replaceAll('-', '');
  return `b-${day}-${randomBytes(4).toString('hex')}`;
}

type ItemResult = BatchResultView['results'][number];

const ticketIdIn = (raw: unknown): string | null => {
  const id = typeof raw === 'object' && raw !== null ? (raw as { TicketId?: unknown }).TicketId : 0;
  return typeof id === 'string' ? id : null;
};

/** The batch route. */
export function batchRoute(deps: BatchRouteDeps): RouteSpec {
  const envelope = batchEnvelopeSchema(deps.batchMax);
  const clock = deps.clock ?? Date.now;
  return {
    method: 'POST',
    url: '/v1/tickets/batch',
    operationId: 'createTicketBatch',
    summary: `Accept up to ${deps.batchMax} tickets; each item gets its own outcome.`,
    body: batchRequestSchema(deps.batchMax),
    responses: {
      200: { description: 'One result per item, in order.', schema: batchResultSchema },
    },
    problems: ['MALFORMED_REQUEST', 'VALIDATION_FAILED'],
    async handler(request): Promise<BatchResultView> {
      const body = parseOrProblem(
        envelope,
        request.body,
        'VALIDATION_FAILED',
        'The batch request failed validation.',
      );
      const batchId = body.batchId ?? newBatchId(clock());
      const checkCallbackUrl =
        deps.checkCallbackUrl === undefined ? undefined : oncePerUrl(deps.checkCallbackUrl);
      const checked = await Promise.all(
        body.tickets.map((raw) =>
          validateTicketRequest(raw, {
            biz: deps.biz,
            batchId,
            checkCallbackUrl,
            imageLimits: deps.imageLimits,
          }),
        ),
      );
      const results: ItemResult[] = [];
      const valid: { index: number; input: TicketInput }[] = [];
      checked.forEach((c, index) => {
        if (c.ok) valid.push({ index, input: c.input });
        else {
          const TicketId = ticketIdIn(body.tickets[index]);
          results[index] = { index, TicketId, outcome: 'invalid', problems: c.problems };
        }
      });
      const enqueued =
        valid.length === 0 ? [] : await deps.intake.enqueueMany(valid.map((v) => v.input));
      valid.forEach(({ index, input }, i) => {
        const r = enqueued[i];
        if (!r) throw new Error('enqueueMany answered fewer results than it was given');
        const outcome = r.created ? 'created' : r.samePayload ? 'duplicate' : 'conflict';
        results[index] = { index, TicketId: input.ticketId, outcome };
      });
      const count = (o: ItemResult['outcome']) => results.filter((r) => r.outcome === o).length;
      return {
        batchId,
        accepted: count('created'),
        duplicates: count('duplicate'),
        conflicts: count('conflict'),
        rejected: count('invalid'),
        results,
      };
    },
  };
}
