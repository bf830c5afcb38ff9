/**
 * The webhook deliveries as the OpenAPI document describes them (its `webhooks` section): the
 * JSON body, a zod schema of {@link WebhookEvent} with one `type` per {@link WEBHOOK_EVENT_TYPES}
 * entry, what each event type means, and the Standard Webhooks headers every delivery carries.
 *
 * `src/webhooks/events.ts` owns the payload as a TypeScript type; this schema is checked against it
 * at compile time (below: every field of the type is described, and every described field has the
 * type's shape) and at test time (test/integration/openapi-document.test.ts parses the events
 * `webhookEventOf` builds for every type and finds nothing dropped), so the document cannot fall
 * behind a field added there.
 */
import { z } from 'zod';
import { TicketState } from '../domain/ticket.js';
import {
  WEBHOOK_EVENT_TYPES,
  WEBHOOK_SCHEMA_VERSION,
  type WebhookEvent,
  type WebhookEventType,
} from '../webhooks/events.js';
import { SIGNATURE_HEADER } from '../webhooks/signature.js';
import {
  WEBHOOK_ID_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
} from '../webhooks/standard-signature.js';
import { DELIVERY_HEADER, EVENT_HEADER } from '../webhooks/worker.js';

const timestamp = z.string().meta({ format: 'date-time', description: 'ISO 8601, UTC.' });

/** The verdict of `ticket.passed` and `ticket.not_passed`. */
const webhookVerdictSchema = z.object({
  statusCode: z.union([z.literal(1), z.literal(2)]).describe('1 passed, 2 not passed.'),
  similarityScore: z.number().exactOptional(),
  trustedScore: z.number().exactOptional(),
  authorityComparisonScore: z.number().exactOptional(),
  auditConclusions: z.string().exactOptional(),
  subCode: z
    .string()
    .exactOptional()
    .describe(
      "Financial-grade family: the provider's reason code (SubCode: 200 passed, 204 no match, …).",
    ),
  certifyId: z
    .string()
    .exactOptional()
    .describe("Financial-grade family: the provider's CertifyId of the verification."),
});

/**
 * The JSON body of a webhook delivery. Receivers ignore fields they do not know (the document
 * lists no `additionalProperties: false` for it): fields are added within a `schemaVersion`.
 */
export const webhookEventSchema = z.object({
  id: z
    .string()
    .describe(
      '`<TicketId>:<version>:<type>`: the same on every delivery attempt and every re-publish, and the `webhook-id` header. Deduplicate on it.',
    ),
  type: z.enum(WEBHOOK_EVENT_TYPES).describe('What happened; the `webhooks` entry of that name.'),
  schemaVersion: z
    .number()
    .int()
    .min(1)
    .describe(
      `The payload's shape: ${WEBHOOK_SCHEMA_VERSION} for the one described here. Fields and event types may be added within a version (ignore what you do not know); a change that could break a receiver (a field removed, renamed or retyped) comes with a new version.`,
    ),
  ticketId: z.string().describe('The TicketId the business gave.'),
  biz: z.string().describe('The Biz scenario of the ticket.'),
  family: z
    .enum(['legacy', 'financial'])
    .describe(
      'The API family of the Biz: `legacy` (Cloudauth 2018-09-16) or `financial` (the financial-grade family, 2019-03-07).',
    ),
  outerOrderNo: z
    .string()
    .nullable()
    .describe('Financial-grade family: the OuterOrderNo sent to the provider; null for legacy.'),
  batchId: z.string().exactOptional().describe('The batch of the ticket, when it has one.'),
  state: z
    .enum(Object.values(TicketState) as [TicketState, ...TicketState[]])
    .describe("The ticket's state at `version`."),
  version: z.number().int().describe('The ticket version the event describes.'),
  occurredAt: timestamp.describe('When the ticket reached this version, ISO 8601 UTC.'),
  verdict: webhookVerdictSchema
    .exactOptional()
    .describe("`ticket.passed`, `ticket.not_passed`: Cloudauth's verdict and scores."),
  emulated: z
    .literal(true)
    .exactOptional()
    .describe(
      '`ticket.passed`, `ticket.not_passed`: present (true) when the verdict was reached in embedded mode, on the Cloudauth emulator: no real check of the person was made. Absent for a real one.',
    ),
  pageUrl: z
    .string()
    .exactOptional()
    .describe(
      '`ticket.token_issued`: the page the person completes; `ticket.start_link_issued`: the start link to send the person. A bearer link: never log it.',
    ),
  error: z
    .object({ code: z.string(), message: z.string() })
    .exactOptional()
    .describe('`ticket.failed`: the log-safe cause (an orchestrator error code and its message).'),
});

// The schema against the type, at compile time: every field of WebhookEvent is described, with
// the type's shape, and nothing else is (`state` aside, which the type leaves a string and the
// document lists).
type Described = z.output<typeof webhookEventSchema>;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const everyFieldDescribed: Same<keyof WebhookEvent, keyof Described> = true;
type Exact = Exclude<keyof WebhookEvent, 'state'>;
const describedAsTyped: Described extends WebhookEvent ? true : false = true;
const typedAsDescribed: Same<Pick<WebhookEvent, Exact>, Pick<Described, Exact>> = true;
void [everyFieldDescribed, describedAsTyped, typedAsDescribed];

/**
 * What each event type means, for the document. Typed over every {@link WebhookEventType}, so a new
 * type cannot be published undocumented.
 */
export const WEBHOOK_EVENT_DOCS: Readonly<
  Record<WebhookEventType, { summary: string; description: string }>
> = {
  'ticket.start_link_issued': {
    summary: 'A start link is ready to send',
    description:
      'Financial-grade `ID_PRO` tickets: the ticket waits for its person, and `pageUrl` is the one signed, expiring start link to send them (by SMS or mail). It collects the device MetaInfo in their browser and leads them on to the provider.',
  },
  'ticket.token_issued': {
    summary: 'The verification page is out',
    description:
      'Interactive tickets: the ticket is `awaiting_user` and `pageUrl` is the page the person completes (legacy: the H5 page to send them to; financial `ID_PRO`: the provider’s CertifyUrl, to which the start page has already sent them on).',
  },
  'ticket.passed': {
    summary: 'The person was verified',
    description:
      'The verdict is in and passed (`verdict.statusCode` 1). `emulated: true` marks a verdict of the emulator in embedded mode: no real check was made.',
  },
  'ticket.not_passed': {
    summary: 'The person was not verified',
    description:
      'The verdict is in and did not pass (`verdict.statusCode` 2); `verdict.subCode` gives the reason in the financial-grade family.',
  },
  'ticket.expired': {
    summary: 'The person did not finish in time',
    description:
      'Interactive tickets: the token or start link ran out before the person finished. `POST /v1/tickets/{id}/retry` runs it again.',
  },
  'ticket.failed': {
    summary: 'The ticket failed',
    description:
      'A permanent error, or retries exhausted; `error` holds the log-safe cause. `POST /v1/tickets/{id}/retry` runs it again.',
  },
  'ticket.cancelled': {
    summary: 'The ticket was cancelled',
    description:
      'The ticket was cancelled (`POST /v1/tickets/{id}/cancel`, or `/erase` of a running ticket) before it finished.',
  },
};

/** A header of the deliveries, as the document describes it. */
export interface WebhookHeader {
  name: string;
  description: string;
  example: string;
  /** Sent on every delivery. */
  required: boolean;
  deprecated?: boolean;
  pattern?: string;
}

/**
 * The headers of the deliveries: the Standard Webhooks three (https://www.standardwebhooks.com)
 * first, then ours, and the deprecated signature sent only with WEBHOOK_LEGACY_SIGNATURE=true.
 */
export const WEBHOOK_HEADERS: readonly WebhookHeader[] = [
  {
    name: WEBHOOK_ID_HEADER,
    description:
      "The event's `id` (`<TicketId>:<version>:<type>`): the same on every attempt. Deduplicate on it, and verify the signature before trusting it.",
    example: 'order-20260301-0001:3:ticket.passed',
    required: true,
  },
  {
    name: WEBHOOK_TIMESTAMP_HEADER,
    description:
      'When this attempt was signed, in Unix seconds. Refuse a delivery whose timestamp is far from now (the libraries allow 5 minutes) to defeat replays.',
    example: '1772352003',
    required: true,
    pattern: '^[0-9]{1,12}$',
  },
  {
    name: WEBHOOK_SIGNATURE_HEADER,
    description:
      'Space-separated `v1,<base64 HMAC-SHA256>` signatures of `<webhook-id>.<webhook-timestamp>.<raw body>`, keyed with the base64 decoding of the secret after its `whsec_` prefix: the secret of the destination’s host in WEBHOOK_SECRETS_BY_HOST when it has one, else WEBHOOK_SECRET and each of WEBHOOK_PREVIOUS_SECRETS (one signature each while a secret is rotated: one valid signature is enough). Verify with a Standard Webhooks library (`standardwebhooks` for Node and Python, the Go, Java and other libraries of github.com/standard-webhooks) over the raw body.',
    example: 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
    required: true,
  },
  {
    name: EVENT_HEADER,
    description: "The event's `type`, to route a delivery before reading its body.",
    example: 'ticket.passed',
    required: true,
  },
  {
    name: DELIVERY_HEADER,
    description: "The event's `id` again (as `webhook-id`), for receivers written before it.",
    example: 'order-20260301-0001:3:ticket.passed',
    required: true,
  },
  {
    name: SIGNATURE_HEADER,
    description:
      'Deprecated, sent only with WEBHOOK_LEGACY_SIGNATURE=true while receivers move to `webhook-signature`, and removed in the next release: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, one `v1=` per secret.',
    example: 't=1772352003,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd',
    required: false,
    deprecated: true,
  },
];
