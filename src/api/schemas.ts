/**
 * The HTTP API's shapes, as zod schemas: the handlers validate requests with them, the views are
 * typed from them, and `GET /openapi.json` is generated from them (`z.toJSONSchema`). The ticket
 * request itself is `ticketRequestSchema` from `../ticket-request.ts`.
 */
import { z } from 'zod';
import { TicketState } from '../domain/ticket.js';
import { TICKET_ID_MAX } from '../flow/ticket-intake.js';
import { ticketRequestSchema } from '../flow/ticket-request.js';

/** A batch id: 1–64 characters among letters, digits, `.`, `_` and `-`. */
export const BATCH_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** Most tickets one page of `GET /v1/tickets` holds. */
export const LIST_LIMIT_MAX = 500;

/** Page size of `GET /v1/tickets` when `limit` is not given. */
export const LIST_LIMIT_DEFAULT = 50;

const timestamp = z.string().meta({ format: 'date-time', description: 'ISO 8601, UTC.' });
const batchId = z
  .string()
  .regex(BATCH_ID_PATTERN, '1–64 characters among letters, digits, ".", "_" and "-"');

/** The `:id` path parameter. */
export const ticketParamsSchema = z
  .object({
    id: z
      .string()
      .min(1)
      .max(TICKET_ID_MAX)
      .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
      .describe('The TicketId (percent-encoded in the path).'),
  })
  .strict();

/** The query of `GET /v1/tickets`. */
export const listQuerySchema = z
  .object({
    state: z
      .enum(Object.values(TicketState) as [TicketState, ...TicketState[]])
      .optional()
      .describe('Only tickets in this state.'),
    batch: batchId.optional().describe('Only tickets of this batch.'),
    cursor: z.string().min(1).max(1024).optional().describe('`nextCursor` of the previous page.'),
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(LIST_LIMIT_MAX)
      .default(LIST_LIMIT_DEFAULT)
      .describe('Page size.'),
  })
  .strict();

/** `POST /v1/tickets/batch` as documented: every item is a ticket request. */
export function batchRequestSchema(batchMax: number) {
  return z
    .object({
      batchId: batchId
        .optional()
        .describe('Groups the tickets for listing and retries. Absent: `b-YYYYMMDD-<8 hex>`.'),
      tickets: z.array(ticketRequestSchema).min(1).max(batchMax),
    })
    .strict();
}

/**
 * `POST /v1/tickets/batch` as first validated: the items are checked one by one afterwards, so
 * that an invalid item is reported in its result rather than refusing the whole batch.
 */
export function batchEnvelopeSchema(batchMax: number) {
  return batchRequestSchema(batchMax).extend({
    tickets: z.array(z.unknown()).min(1).max(batchMax),
  });
}

const verdictSchema = z.object({
  statusCode: z.union([z.literal(1), z.literal(2)]).describe('1 passed, 2 not passed.'),
  trustedScore: z.number().optional(),
  similarityScore: z.number().optional(),
  authorityComparisonScore: z.number().optional(),
  auditConclusions: z.string().optional(),
  subCode: z
    .string()
    .optional()
    .describe(
      "Financial-grade family: the provider's reason code (SubCode): 200 passed, 201 name and ID number do not match, 202 not found at the authority, 203 no usable authority photo, 204 face mismatch, 205 liveness risk, 206 business policy.",
    ),
  certifyId: z
    .string()
    .optional()
    .describe("Financial-grade family: the provider's CertifyId of the verification."),
});

const ticketErrorSchema = z.object({
  code: z.string().describe('An error code of the orchestrator, e.g. `PROVIDER_INVALID_BIZ`.'),
  message: z.string(),
  retryable: z.boolean(),
  providerCode: z.string().optional(),
  requestId: z.string().optional(),
  at: timestamp,
});

const stateSchema = z.enum(Object.values(TicketState) as [TicketState, ...TicketState[]]);

const historyEntrySchema = z.object({
  from: stateSchema,
  to: stateSchema,
  event: z.string(),
  cause: z.string().optional(),
  at: timestamp,
  attempt: z.number().int(),
});

/** A ticket as listed. */
export const ticketSummarySchema = z.object({
  TicketId: z.string(),
  Biz: z.string(),
  flow: z.enum(['server', 'interactive']),
  family: z
    .enum(['legacy', 'financial'])
    .describe(
      'The API family the ticket runs on: `legacy` (Cloudauth 2018-09-16) or `financial` (the financial-grade family of 2019-03-07), from its Biz in CLOUDAUTH_BIZ.',
    ),
  outerOrderNo: z
    .string()
    .nullable()
    .describe(
      'Financial-grade family: the OuterOrderNo sent to the provider (the TicketId when it is at most 32 letters and digits, else the first 32 hex digits of its SHA-256). Null for legacy tickets.',
    ),
  state: stateSchema,
  version: z
    .number()
    .int()
    .describe('Bumped by every transition and every recorded attempt error.'),
  attempts: z.number().int().describe('Failed processing attempts so far.'),
  batchId: z.string().nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
  finishedAt: timestamp.nullable(),
  verdict: verdictSchema.nullable(),
  emulated: z
    .boolean()
    .describe(
      'True when the verdict was reached in embedded mode, on the Cloudauth emulator: no real check of the person was made. False for a real verdict and for a ticket without one.',
    ),
  lastError: ticketErrorSchema.nullable(),
  personalDataErasedAt: timestamp
    .nullable()
    .describe(
      "When the applicant's personal data (name, ID number, staged photos) was erased: when the ticket finished passed, not_passed or cancelled, after MATERIAL_RETENTION_SECONDS in failed or expired, or on request. Null while it is kept. The masked applicant, verdict, scores and history stay.",
    ),
  erasure: z
    .enum(['finished', 'retention', 'request'])
    .nullable()
    .describe('Why it was erased; null while it is kept.'),
});

/** One ticket, personal data masked; never the VerifyToken or the STS credentials. */
export const ticketViewSchema = ticketSummarySchema.extend({
  pageUrl: z
    .string()
    .nullable()
    .describe(
      'Interactive tickets while `awaiting_user`: the page the person completes (legacy: the CloudauthPageUrl; financial ID_PRO: the CertifyUrl, 30 minutes, one use).',
    ),
  startUrl: z
    .string()
    .nullable()
    .describe(
      'Financial ID_PRO tickets until they end: the one signed, expiring link to send the person (by SMS or mail). It collects the MetaInfo in their browser, has a worker call InitFaceVerify and sends them on to the CertifyUrl. Valid START_LINK_SECONDS; a retry makes a new one.',
    ),
  applicant: z.object({
    name: z.string().nullable().describe('Masked: 李*.'),
    idNumber: z.string().nullable().describe('Masked: 6305**********0090.'),
  }),
  history: z.array(historyEntrySchema).describe('Transitions, oldest first.'),
});

/** A page of `GET /v1/tickets`, newest first. */
export const ticketListSchema = z.object({
  tickets: z.array(ticketSummarySchema),
  nextCursor: z.string().optional().describe('Present when more tickets follow.'),
});

/** A field and what is wrong with it; never the value. */
export const fieldProblemSchema = z.object({
  field: z.string().describe('Dotted path, e.g. `Binding.IdentificationNumber`; `(body)`.'),
  message: z.string(),
});

/** The answer to `POST /v1/tickets/batch`: one result per item, in order. */
export const batchResultSchema = z.object({
  batchId: z.string(),
  accepted: z.number().int().describe('Tickets created.'),
  duplicates: z.number().int().describe('Tickets that existed with the same payload.'),
  conflicts: z.number().int().describe('TicketIds that existed with a different payload.'),
  rejected: z.number().int().describe('Items that failed validation.'),
  results: z.array(
    z.object({
      index: z.number().int(),
      TicketId: z.string().nullable(),
      outcome: z.enum(['created', 'duplicate', 'conflict', 'invalid']),
      problems: z.array(fieldProblemSchema).optional(),
    }),
  ),
});

/** RFC 9457 problem details, `application/problem+json`. */
export const problemSchema = z.object({
  type: z
    .string()
    .describe(
      'A URI naming the kind of problem: `urn:cloudauth-orchestrator:problem:<kind>` (e.g. `…:unknown-ticket`), or `about:blank` for an HTTP refusal of no kind of ours. Branch on it (or on `code`), never on `title` or `detail`.',
    ),
  title: z
    .string()
    .describe('A short summary of the kind of problem; the same for every instance.'),
  status: z.number().int().describe('The HTTP status of the answer.'),
  code: z
    .string()
    .optional()
    .describe(
      'The error code of the orchestrator (`src/errors.ts`) the problem reports, when it has one: `VALIDATION_FAILED`, `ILLEGAL_TRANSITION`, `PERSONAL_DATA_ERASED`, `STORE_UNAVAILABLE`, `STORE_FULL`, `STAGING_UNAVAILABLE`, `STAGING_FULL`.',
    ),
  detail: z
    .string()
    .describe('What went wrong with this request, for a person; never personal data or a secret.'),
  instance: z
    .string()
    .optional()
    .describe(
      "The request it answers, `urn:cloudauth-orchestrator:request:<request id>`, the id also answered in `x-request-id` and found on the server's log lines of the request. Present on every problem of this API.",
    ),
  errors: z
    .array(fieldProblemSchema)
    .optional()
    .describe('Validation problems (400, 422): every bad field, each named once.'),
});

export type TicketSummaryView = z.output<typeof ticketSummarySchema>;
export type TicketView = z.output<typeof ticketViewSchema>;
export type TicketListView = z.output<typeof ticketListSchema>;
export type BatchResultView = z.output<typeof batchResultSchema>;
export type FieldProblem = z.output<typeof fieldProblemSchema>;
export type Problem = z.output<typeof problemSchema>;
