/**
 * The package's public surface, for business systems that share the orchestrator's Redis or
 * receive its webhooks.
 */
export { createTicketProducer } from './intake/producer.js';
export type { TicketProducer, TicketProducerOptions } from './intake/producer.js';
export { TicketRejectedError, ticketRequestSchema } from './intake/ticket-request.js';
export type { TicketRequest } from './intake/ticket-request.js';
export type { ImageLimits } from './oss/image-header.js';
export type { CallbackPolicy } from './intake/webhooks/allowlist.js';
export type { EnqueueResult } from './queue/ticket-intake.js';
export { SIGNATURE_HEADER, signWebhook, verifyWebhook } from './intake/webhooks/signature.js';
export type { VerifyWebhookInput } from './intake/webhooks/signature.js';
export { WEBHOOK_EVENT_TYPES } from './intake/webhooks/events.js';
export type { WebhookEvent, WebhookEventType } from './intake/webhooks/events.js';
export { ERROR_CODES, OrchestratorError, StoreFullError, ValidationError } from './errors.js';
export type { TicketState } from './domain/ticket.js';
