/**
 * The package's public surface (`import … from 'cloudauth-orchestrator'`), for business systems
 * that share the orchestrator's Redis, receive its webhooks, or call Cloudauth's legacy API
 * themselves: the producer library and the Redis connection factory it takes a client from (one
 * node, Sentinel or Cluster), the webhook verifier, the typed Cloudauth client, the typed client
 * of the orchestrator's own HTTP API (generated from its OpenAPI document), and the error codes,
 * with their types. Everything else is internal and may change.
 */
export { createTicketProducer } from './flow/producer.js';
export type { ProducerStaging, TicketProducer, TicketProducerOptions } from './flow/producer.js';
export { connectRedis } from './adapters/redis/connection.js';
export type {
  HostPort,
  RedisClient,
  RedisRole,
  RedisTls,
  RedisTopology,
} from './adapters/redis/connection.js';
export { TicketRejectedError, ticketRequestSchema } from './flow/ticket-request.js';
export type { TicketRequest } from './flow/ticket-request.js';
export type { ImageLimits } from './adapters/oss/image-header.js';
export type { CallbackPolicy } from './webhooks/allowlist.js';
export type { EnqueueResult } from './flow/ticket-intake.js';
export { SIGNATURE_HEADER, signWebhook, verifyWebhook } from './webhooks/signature.js';
export type { VerifyWebhookInput } from './webhooks/signature.js';
export { WEBHOOK_EVENT_TYPES } from './webhooks/events.js';
export type { WebhookEvent, WebhookEventType } from './webhooks/events.js';
export { createApiClient } from './api/client.js';
export type {
  ApiOperations,
  ApiPaths,
  ApiSchemas,
  ApiWebhooks,
  CreateApiClientOptions,
  TypedApiClient,
} from './api/client.js';
export { CloudauthClient } from './adapters/cloudauth/client.js';
export type { CloudauthAction, CloudauthClientDeps } from './adapters/cloudauth/client.js';
export { CLOUDAUTH_API_VERSION } from './adapters/cloudauth/types.js';
export type {
  GetMaterialsResult,
  GetStatusResult,
  GetVerifyTokenInput,
  GetVerifyTokenResult,
  Material,
  SubmitMaterialsInput,
  SubmitMaterialsResult,
  SubmitVerificationInput,
  SubmitVerificationResult,
  TicketRef,
  VerifyStatusCode,
} from './adapters/cloudauth/types.js';
export {
  ERROR_CODES,
  OrchestratorError,
  ProviderError,
  StoreFullError,
  StoreUnavailableError,
  ThrottledError,
  TransportError,
  PersonalDataErasedError,
  ValidationError,
  isRetryable,
} from './errors.js';
export { StagingUnavailableError } from './adapters/staging/staging-errors.js';
export type { ErrorCode, Fault } from './errors.js';
export type { TicketState } from './domain/ticket.js';
