/**
 * The examples of the OpenAPI document: a request and an answer for every operation, a problem for
 * every problem type, and an event for every webhook type. One invented applicant throughout (张三,
 * the sample identity number of GB 11643), masked wherever the API masks it. Every example is
 * checked against its schema by `redocly lint` (`no-invalid-media-type-examples`, an error in
 * redocly.yaml), so an example cannot drift from the shapes it illustrates.
 */
import { encodeCursor } from '../adapters/redis/ticket-index.js';
import { TicketState } from '../domain/ticket.js';
import {
  WEBHOOK_SCHEMA_VERSION,
  type WebhookEvent,
  type WebhookEventType,
} from '../webhooks/events.js';
import { problemError, problemInstance, type ProblemType } from './problems.js';
import {
  ticketSummarySchema,
  type BatchResultView,
  type Problem,
  type TicketListView,
  type TicketSummaryView,
  type TicketView,
} from './schemas.js';
import type { OverviewView } from './ui/overview-route.js';
import type { SummaryView } from './ui/summary-route.js';

/** An example as OpenAPI's Example Object has it. */
export interface Example {
  summary: string;
  value: unknown;
}

const ID = 'order-20260301-0001';
const INTERACTIVE_ID = 'order-20260301-0002';
const BATCH_ID = 'b-20260301-5f0c2a9e';
/** A request id as `x-request-id` carries it. */
export const EXAMPLE_REQUEST_ID = '0f8e4c1a-6b2d-4f7e-9a51-3c2d8e7b6a10';

const at = (seconds: number): string => new Date(Date.UTC(2026, 2, 1, 8, 0, seconds)).toISOString();

/** The ticket request of a server-flow Biz: name, identity number and a face photo. */
export const SERVER_REQUEST = {
  TicketId: ID,
  Biz: 'RPMin',
  Binding: {
    Name: '张三',
    IdentificationNumber: '11010519491231002X',
    FacePic: 'oss://my-bucket:faces/order-20260301-0001.jpg',
  },
  UserData: { orderNo: '20260301-0001' },
  callbackUrl: 'https://hooks.example.com/cloudauth',
};

/** The ticket request of an interactive Biz: the person completes a page. */
export const INTERACTIVE_REQUEST = {
  TicketId: INTERACTIVE_ID,
  Biz: 'RPH5BioOnly',
  Binding: { Name: '张三', IdentificationNumber: '11010519491231002X' },
};

/** A listed ticket: `over`'s summary fields only (a view's others are dropped, as the API does). */
const summaryOf = (over: Partial<TicketSummaryView>): TicketSummaryView =>
  ticketSummarySchema.parse({
    TicketId: ID,
    Biz: 'RPMin',
    flow: 'server',
    family: 'legacy',
    outerOrderNo: null,
    state: TicketState.queued,
    version: 0,
    attempts: 0,
    batchId: null,
    createdAt: at(0),
    updatedAt: at(0),
    finishedAt: null,
    verdict: null,
    emulated: false,
    lastError: null,
    personalDataErasedAt: null,
    erasure: null,
    ...over,
  });

const viewOf = (over: Partial<TicketView>): TicketView => ({
  ...summaryOf(over),
  pageUrl: null,
  startUrl: null,
  applicant: { name: '张*', idNumber: '1101**********002X' },
  history: [],
  ...over,
});

const passedVerdict = {
  statusCode: 1 as const,
  trustedScore: 99.7,
  similarityScore: 96.2,
  authorityComparisonScore: 97.5,
};

/** A ticket just accepted. */
const queued = viewOf({});

/** A server-flow ticket that passed; its personal data erased on finishing. */
const passed = viewOf({
  state: TicketState.passed,
  version: 3,
  updatedAt: at(3),
  finishedAt: at(3),
  verdict: passedVerdict,
  personalDataErasedAt: at(3),
  erasure: 'finished',
  history: [
    { from: 'queued', to: 'token_issued', event: 'token_issued', at: at(1), attempt: 0 },
    { from: 'token_issued', to: 'submitted', event: 'submitted', at: at(2), attempt: 0 },
    { from: 'submitted', to: 'passed', event: 'verdict', at: at(3), attempt: 0 },
  ],
});

/** An interactive ticket waiting for its person. */
const awaitingUser = viewOf({
  TicketId: INTERACTIVE_ID,
  Biz: 'RPH5BioOnly',
  flow: 'interactive',
  state: TicketState.awaiting_user,
  version: 1,
  updatedAt: at(1),
  pageUrl: 'https://h5.example.com/cloudauth/verify?token=3a1f…',
  history: [
    {
      from: 'queued',
      to: 'awaiting_user',
      event: 'token_issued',
      at: at(1),
      attempt: 0,
    },
  ],
});

const failedError = {
  code: 'PROVIDER_INVALID_BIZ',
  message: 'Cloudauth does not know this Biz',
  retryable: false,
  providerCode: 'InvalidBiz',
  requestId: '6D1C5B9E-2F4A-4C8B-9E7D-0A1B2C3D4E5F',
  at: at(1),
};

/** A failed ticket sent back to the queue. */
const retried = viewOf({
  version: 2,
  updatedAt: at(60),
  lastError: failedError,
  history: [
    {
      from: 'queued',
      to: 'failed',
      event: 'failed',
      cause: 'PROVIDER_INVALID_BIZ',
      at: at(1),
      attempt: 0,
    },
    { from: 'failed', to: 'queued', event: 'retried', at: at(60), attempt: 0 },
  ],
});

/** An interactive ticket cancelled while its person had not finished. */
const cancelled = viewOf({
  ...awaitingUser,
  state: TicketState.cancelled,
  version: 2,
  updatedAt: at(30),
  finishedAt: at(30),
  pageUrl: null,
  personalDataErasedAt: at(30),
  erasure: 'finished',
  history: [
    ...awaitingUser.history,
    { from: 'awaiting_user', to: 'cancelled', event: 'cancelled', at: at(30), attempt: 0 },
  ],
});

/** A ticket whose personal data was erased on request. */
const erased = viewOf({
  ...passed,
  updatedAt: at(90),
  personalDataErasedAt: at(90),
  erasure: 'request',
});

const json = (summary: string, value: unknown): Example => ({ summary, value });

/** The request examples, by operationId. */
export const REQUEST_EXAMPLES: Readonly<Record<string, Record<string, Example>>> = {
  createTicket: {
    server: json('A server-flow ticket (photo by OSS reference)', SERVER_REQUEST),
    interactive: json('An interactive ticket (the person completes a page)', INTERACTIVE_REQUEST),
  },
  createTicketBatch: {
    batch: json('Two tickets in a named batch', {
      batchId: BATCH_ID,
      tickets: [SERVER_REQUEST, INTERACTIVE_REQUEST],
    }),
  },
};

const batchResult: BatchResultView = {
  batchId: BATCH_ID,
  accepted: 1,
  duplicates: 0,
  conflicts: 0,
  rejected: 1,
  results: [
    { index: 0, TicketId: ID, outcome: 'created' },
    {
      index: 1,
      TicketId: INTERACTIVE_ID,
      outcome: 'invalid',
      problems: [
        { field: 'Binding.IdentificationNumber', message: 'check digit does not match (GB 11643)' },
      ],
    },
  ],
};

const page: TicketListView = {
  tickets: [
    summaryOf({ ...passed, batchId: BATCH_ID }),
    summaryOf({ ...awaitingUser, batchId: BATCH_ID }),
  ],
  nextCursor: encodeCursor({ score: Date.parse(at(0)), member: INTERACTIVE_ID }),
};

const counts = (over: Partial<Record<TicketState, number>>): Record<TicketState, number> => ({
  ...(Object.fromEntries(Object.values(TicketState).map((s) => [s, 0])) as Record<
    TicketState,
    number
  >),
  ...over,
});

const summary: SummaryView = {
  byState: counts({ queued: 12, submitted: 3, awaiting_user: 40, passed: 1210, not_passed: 35 }),
  total: 1300,
  batch: {
    batchId: BATCH_ID,
    byState: counts({ queued: 2, passed: 96, not_passed: 2 }),
    total: 100,
    finished: 98,
  },
};

const minutes = (...values: number[]): number[] => values;

/** The operations overview, its series cut to three steps. */
const overview: OverviewView = {
  at: at(180),
  finished: {
    start: at(0),
    stepSeconds: 60,
    byOutcome: {
      passed: minutes(41, 38, 44),
      not_passed: minutes(1, 0, 2),
      expired: minutes(0, 0, 0),
      failed: minutes(0, 1, 0),
      cancelled: minutes(0, 0, 0),
    },
  },
  calls: {
    start: at(177),
    stepSeconds: 1,
    actions: [
      { action: 'GetVerifyToken', qps: 10, counted: true, perSecond: minutes(9, 10, 8) },
      { action: 'SubmitMaterials', qps: 10, counted: true, perSecond: minutes(8, 9, 10) },
    ],
  },
  troubles: {
    start: at(0),
    stepSeconds: 60,
    retried: minutes(0, 2, 0),
    throttled: minutes(0, 1, 0),
    throttledBy: { SubmitMaterials: minutes(0, 1, 0) },
  },
  queue: { waiting: 120, delayed: 14, active: 20, oldestWaitingMs: 850 },
  batches: [
    {
      batchId: BATCH_ID,
      lastCreatedAt: at(0),
      total: 100,
      finished: 98,
      failed: 0,
      byState: counts({ queued: 2, passed: 96, not_passed: 2 }),
      eta: { kind: 'limited', seconds: 1, action: 'GetVerifyToken', qps: 10 },
    },
  ],
};

/** The success answer examples, by operationId and status. */
export const RESPONSE_EXAMPLES: Readonly<
  Record<string, Readonly<Record<number, Record<string, Example>>>>
> = {
  createTicket: {
    202: { created: json('Created and queued', queued) },
    200: { known: json('Accepted earlier; it has since passed', passed) },
  },
  createTicketBatch: {
    200: { mixed: json('One item created, one refused', batchResult) },
  },
  listTickets: {
    200: { page: json('A page of a batch, more to follow', page) },
  },
  getTicket: {
    200: {
      passed: json('A server-flow ticket that passed', passed),
      awaiting_user: json('An interactive ticket waiting for its person', awaitingUser),
    },
  },
  retryTicket: { 200: { retried: json('A failed ticket back in the queue', retried) } },
  cancelTicket: { 200: { cancelled: json('A waiting interactive ticket cancelled', cancelled) } },
  eraseTicket: { 200: { erased: json('Personal data erased on request', erased) } },
  getSummary: { 200: { batch: json('The counts, with one batch', summary) } },
  getOpsOverview: { 200: { overview: json('A busy minute, one batch nearly done', overview) } },
  getOpenApi: {
    200: {
      document: json('This document (its start)', {
        openapi: '3.1.0',
        info: { title: 'cloudauth-orchestrator' },
      }),
    },
  },
};

/** A `detail` each problem type answers with. */
const PROBLEM_DETAILS: Readonly<Record<ProblemType, string>> = {
  MALFORMED_REQUEST: 'The query is malformed.',
  UNAUTHORIZED: 'Send Authorization: Bearer <token>.',
  ROUTE_NOT_FOUND: 'There is no route GET for this path.',
  UNKNOWN_TICKET: 'There is no ticket with this TicketId.',
  REQUEST_TIMEOUT: 'The request did not arrive completely in time.',
  TICKET_CONFLICT:
    'This TicketId was accepted earlier with a different payload; use a new TicketId.',
  ILLEGAL_TRANSITION: "A ticket in state 'passed' does not accept 'retried'.",
  BODY_TOO_LARGE: 'The request body is over the configured limit.',
  URI_TOO_LONG: 'A path parameter is longer than any TicketId.',
  UNSUPPORTED_MEDIA_TYPE: 'Send the body as application/json (UTF-8).',
  VALIDATION_FAILED: 'The ticket request failed validation.',
  HEADERS_TOO_LARGE: 'The request headers are over the size limit.',
  INTERNAL: 'The request could not be completed; it has been logged.',
  SHUTTING_DOWN: 'The server is shutting down.',
  STORE_UNAVAILABLE:
    'The ticket store (Redis) cannot be reached; send the request again after Retry-After seconds.',
  STORE_FULL:
    'The ticket store (Redis) is out of memory and refused to store this request; send it again after Retry-After seconds (tickets of it stored before the refusal then answer as known).',
  STAGING_UNAVAILABLE:
    'The material staging store cannot be reached or refused the write; nothing of the request was kept: send it again after Retry-After seconds.',
  STAGING_FULL:
    'The material staging store is out of space; nothing of the request was kept: send it again after Retry-After seconds.',
  PERSONAL_DATA_ERASED:
    "the ticket's personal data was erased on request: it cannot run again; send the applicant's data again under a new TicketId",
};

/** Field problems of the validation examples. */
const FIELD_ERRORS: Partial<Record<ProblemType, Problem['errors']>> = {
  MALFORMED_REQUEST: [
    {
      field: 'limit',
      message: 'Too big: expected number to be <=500',
    },
  ],
  VALIDATION_FAILED: [
    { field: 'Binding.IdentificationNumber', message: 'check digit does not match (GB 11643)' },
    { field: 'Extra', message: 'is not a known field' },
  ],
};

/** The problem body of `type`, as the API answers it. */
export function problemExample(type: ProblemType): Example {
  const errors = FIELD_ERRORS[type];
  const { problem } = problemError(
    type,
    PROBLEM_DETAILS[type],
    errors === undefined ? {} : { errors },
  );
  return {
    summary: problem.title,
    value: { ...problem, instance: problemInstance(EXAMPLE_REQUEST_ID) },
  };
}

/** The webhook event of each type, for one ticket's life. */
export function webhookExample(type: WebhookEventType): WebhookEvent {
  const event = (
    state: TicketState,
    version: number,
    extra: Partial<WebhookEvent> = {},
  ): WebhookEvent => ({
    id: `${ID}:${version}:${type}`,
    type,
    schemaVersion: WEBHOOK_SCHEMA_VERSION,
    ticketId: ID,
    biz: 'RPMin',
    family: 'legacy',
    outerOrderNo: null,
    batchId: BATCH_ID,
    state,
    version,
    occurredAt: at(version),
    ...extra,
  });
  const financial = { family: 'financial' as const, outerOrderNo: 'order202603010001' };
  const examples: Record<WebhookEventType, () => WebhookEvent> = {
    'ticket.start_link_issued': () =>
      event(TicketState.queued, 1, {
        ...financial,
        biz: 'FinancialIdPro',
        pageUrl: 'https://verify.example.com/v1/start/eyJ0Ijoib3JkZXI…',
      }),
    'ticket.token_issued': () =>
      event(TicketState.awaiting_user, 1, {
        biz: 'RPH5BioOnly',
        pageUrl: 'https://h5.example.com/cloudauth/verify?token=3a1f…',
      }),
    'ticket.passed': () => event(TicketState.passed, 3, { verdict: passedVerdict }),
    'ticket.not_passed': () =>
      event(TicketState.not_passed, 3, {
        ...financial,
        biz: 'FinancialIdMin',
        verdict: { statusCode: 2, subCode: '204', certifyId: 'sha1e2f3a4b5c6d7e8f9a0b1c2d3e4f5' },
      }),
    'ticket.expired': () => event(TicketState.expired, 2, { biz: 'RPH5BioOnly' }),
    'ticket.failed': () =>
      event(TicketState.failed, 1, {
        error: { code: 'PROVIDER_INVALID_BIZ', message: 'Cloudauth does not know this Biz' },
      }),
    'ticket.cancelled': () => event(TicketState.cancelled, 2, { biz: 'RPH5BioOnly' }),
  };
  return examples[type]();
}
