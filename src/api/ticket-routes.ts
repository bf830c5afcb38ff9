/**
 * `/v1/tickets`: accept one ticket, read one, list them, retry and cancel one.
 */
import type { BizCatalogue } from '../domain/biz.js';
import type { ImageLimits } from '../adapters/oss/image-header.js';
import type { TicketIntake } from '../flow/ticket-intake.js';
import type { TicketOperations } from '../flow/ticket-operations.js';
import type { TicketStore } from '../adapters/redis/ticket-store.js';
import { ValidationError } from '../errors.js';
import { ticketRequestSchema } from '../flow/ticket-request.js';
import { fieldProblems, problemError } from './problems.js';
import { parseOrProblem, ticketPath, type RouteSpec } from './route-spec.js';
import {
  listQuerySchema,
  ticketListSchema,
  ticketParamsSchema,
  ticketViewSchema,
  type TicketListView,
} from './schemas.js';
import { validateTicketRequest, type CallbackUrlCheck } from './ticket-validation.js';
import { ticketSummaryView, ticketView, ticketViewOf, type StartLinkMaker } from './views.js';

/** What the ticket routes need. */
export interface TicketRouteDeps {
  intake: Pick<TicketIntake, 'enqueue' | 'enqueueMany'>;
  operations: Pick<TicketOperations, 'cancel' | 'retry' | 'erase'>;
  store: Pick<TicketStore, 'get' | 'getBinding' | 'history' | 'list'>;
  /** Biz → scheme (`CLOUDAUTH_BIZ`). */
  biz: BizCatalogue;
  /** Refuses callback URLs to internal addresses; absent: any http(s) URL is taken. */
  checkCallbackUrl?: CallbackUrlCheck | undefined;
  /** Pixel limits of images sent as bytes (`IMAGE_MAX_PIXELS`, `IMAGE_MAX_SIDE_PX`); default theirs. */
  imageLimits?: ImageLimits | undefined;
  /** The start links of financial ID_PRO tickets (`startUrl` in the view); absent: none shown. */
  links?: StartLinkMaker | undefined;
}

const ticketIdOf = (params: unknown): string =>
  parseOrProblem(ticketParamsSchema, params, 'MALFORMED_REQUEST', 'The TicketId is malformed.').id;

/** The routes of single tickets. */
export function ticketRoutes(deps: TicketRouteDeps): RouteSpec[] {
  const view = { description: 'The ticket.', schema: ticketViewSchema };
  const command = (verb: 'retry' | 'cancel' | 'erase', summary: string): RouteSpec => ({
    method: 'POST',
    url: `/v1/tickets/:id/${verb}`,
    operationId: `${verb}Ticket`,
    summary,
    params: ticketParamsSchema,
    responses: { 200: view },
    problems: ['MALFORMED_REQUEST', 'UNKNOWN_TICKET', 'ILLEGAL_TRANSITION', 'PERSONAL_DATA_ERASED'],
    async handler(request) {
      const id = ticketIdOf(request.params);
      const ticket = await (verb === 'retry'
        ? deps.operations.retry(id)
        : verb === 'cancel'
          ? deps.operations.cancel(id)
          : deps.operations.erase(id));
      return ticketView(deps.store, ticket, deps.links);
    },
  });
  return [
    {
      method: 'POST',
      url: '/v1/tickets',
      operationId: 'createTicket',
      summary:
        'Accept one ticket: 202 when created, 200 for a repeat with the same payload, 409 for the same TicketId with a different payload.',
      body: ticketRequestSchema,
      responses: {
        202: { description: 'Created and queued.', schema: ticketViewSchema },
        200: { description: 'Known already, with the same payload.', schema: ticketViewSchema },
      },
      problems: [
        'MALFORMED_REQUEST',
        'VALIDATION_FAILED',
        'TICKET_CONFLICT',
        'STAGING_UNAVAILABLE',
        'STAGING_FULL',
      ],
      async handler(request, reply) {
        const checked = await validateTicketRequest(request.body, {
          biz: deps.biz,
          checkCallbackUrl: deps.checkCallbackUrl,
          imageLimits: deps.imageLimits,
        });
        if (!checked.ok) {
          throw problemError('VALIDATION_FAILED', 'The ticket request failed validation.', {
            errors: checked.problems,
          });
        }
        const { created, samePayload, ticket } = await deps.intake.enqueue(checked.input);
        if (!samePayload) {
          throw problemError(
            'TICKET_CONFLICT',
            'This TicketId was accepted earlier with a different payload; use a new TicketId.',
          );
        }
        void reply.code(created ? 202 : 200).header('location', ticketPath(ticket.ticketId));
        return created
          ? ticketViewOf(ticket, checked.input.binding, [], deps.links)
          : ticketView(deps.store, ticket, deps.links);
      },
    },
    {
      method: 'GET',
      url: '/v1/tickets',
      operationId: 'listTickets',
      summary: 'List tickets, newest first, by state and/or batch.',
      query: listQuerySchema,
      responses: { 200: { description: 'One page.', schema: ticketListSchema } },
      problems: ['MALFORMED_REQUEST'],
      async handler(request): Promise<TicketListView> {
        const q = parseOrProblem(
          listQuerySchema,
          request.query,
          'MALFORMED_REQUEST',
          'The query is malformed.',
        );
        try {
          const page = await deps.store.list({
            limit: q.limit,
            ...(q.state === undefined ? {} : { state: q.state }),
            ...(q.batch === undefined ? {} : { batchId: q.batch }),
            ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
          });
          return {
            tickets: page.tickets.map(ticketSummaryView),
            ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor }),
          };
        } catch (err) {
          if (!(err instanceof ValidationError)) throw err;
          throw problemError('MALFORMED_REQUEST', 'The query is malformed.', {
            errors: fieldProblems(err),
          });
        }
      },
    },
    {
      method: 'GET',
      url: '/v1/tickets/:id',
      operationId: 'getTicket',
      summary: 'One ticket with its masked applicant and its history.',
      params: ticketParamsSchema,
      responses: { 200: view },
      problems: ['MALFORMED_REQUEST', 'UNKNOWN_TICKET'],
      async handler(request) {
        const ticket = await deps.store.get(ticketIdOf(request.params));
        if (!ticket) throw problemError('UNKNOWN_TICKET', 'There is no ticket with this TicketId.');
        return ticketView(deps.store, ticket, deps.links);
      },
    },
    command('retry', 'Send a failed or expired ticket back to the queue.'),
    command('cancel', 'Cancel a ticket that has not finished.'),
    command(
      'erase',
      "Erase the applicant's personal data (name, ID number, staged photos) on request, whatever the state: a ticket still running is cancelled first. The erasure is recorded (`personalDataErasedAt`, `erasure: request`); the masked applicant, verdict and history stay.",
    ),
  ];
}
