/**
 * `GET /v1/summary`: tickets per state, and one batch's progress when asked, for the operations
 * page and for scripts. Authenticated like the rest of `/v1`.
 */
import { z } from 'zod';
import { TERMINAL_STATES, TicketState } from '../../domain/ticket.js';
import { parseOrProblem, type RouteSpec } from '../route-spec.js';
import { BATCH_ID_PATTERN } from '../schemas.js';
import type { TicketStore } from '../../adapters/redis/ticket-store.js';
import type { OverviewRouteDeps } from './overview-route.js';

/**
 * What the summary route reads, and the overview route registered beside it
 * (`overview-route.ts`, served when its sources are given).
 */
export interface SummaryRouteDeps extends OverviewRouteDeps {
  store: Pick<TicketStore, 'countByState' | 'countBatch'>;
}

const countsSchema = z
  .object(
    Object.fromEntries(
      Object.values(TicketState).map((s) => [s, z.number().int().min(0)]),
    ) as Record<TicketState, z.ZodNumber>,
  )
  .describe('Tickets per state.');

/** The query of `GET /v1/summary`. */
export const summaryQuerySchema = z
  .object({
    batch: z
      .string()
      .regex(BATCH_ID_PATTERN, '1–64 characters among letters, digits, ".", "_" and "-"')
      .optional()
      .describe("Also count this batch's tickets per state."),
  })
  .strict();

/** The answer of `GET /v1/summary`. */
export const summarySchema = z
  .object({
    byState: countsSchema.describe(
      'Tickets per state, from the state indexes (finished tickets past retention left out).',
    ),
    total: z.number().int().min(0),
    batch: z
      .object({
        batchId: z.string(),
        byState: countsSchema,
        total: z.number().int().min(0),
        finished: z.number().int().min(0).describe('Tickets of the batch in a terminal state.'),
      })
      .nullable()
      .describe('The batch asked for with `batch`, read ticket by ticket; null without `batch`.'),
  })
  .strict();

/** The answer of `GET /v1/summary`. */
export type SummaryView = z.output<typeof summarySchema>;

const sum = (counts: Record<TicketState, number>): number =>
  Object.values(counts).reduce((a, b) => a + b, 0);

/** The summary route. */
export function summaryRoute(deps: SummaryRouteDeps): RouteSpec {
  return {
    method: 'GET',
    url: '/v1/summary',
    operationId: 'getSummary',
    summary: 'Tickets per state, and the progress of one batch.',
    query: summaryQuerySchema,
    responses: { 200: { description: 'The counts.', schema: summarySchema } },
    problems: ['MALFORMED_REQUEST'],
    async handler(request): Promise<SummaryView> {
      const q = parseOrProblem(
        summaryQuerySchema,
        request.query,
        'MALFORMED_REQUEST',
        'The query is malformed.',
      );
      const [byState, batch] = await Promise.all([
        deps.store.countByState(),
        q.batch === undefined ? undefined : deps.store.countBatch(q.batch),
      ]);
      return {
        byState,
        total: sum(byState),
        batch:
          batch === undefined || q.batch === undefined
            ? null
            : {
                batchId: q.batch,
                byState: batch,
                total: sum(batch),
                finished: TERMINAL_STATES.reduce((n, s) => n + batch[s], 0),
              },
      };
    },
  };
}
