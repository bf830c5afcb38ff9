/**
 * Signed webhooks on their own queue: events, the publisher, the delivery worker, the callback
 * URL policy, signatures, dead letters and the signing secret.
 */
export * from './allowlist.js';
export * from './dead-letters.js';
export * from './events.js';
export * from './publisher.js';
export * from './secret.js';
export * from './signature.js';
export * from './worker.js';
