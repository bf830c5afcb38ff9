/**
 * Signed webhooks on their own queue: events, the publisher, the delivery worker and its pinned
 * HTTP agent, the callback URL policy and its address ranges, signatures (Standard Webhooks, and
 * the deprecated legacy header) and who signs what, dead letters and the signing secrets.
 */
export * from './address-ranges.js';
export * from './allowlist.js';
export * from './dead-letters.js';
export * from './delivery-agent.js';
export * from './events.js';
export * from './publisher.js';
export * from './secret.js';
export * from './signature.js';
export * from './signer.js';
export * from './standard-signature.js';
export * from './worker.js';
