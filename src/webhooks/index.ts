/**
 * Signed webhooks on their own queue: events, the publisher, the delivery worker and its pinned
 * HTTP agent, the callback URL policy and its address ranges, signatures, dead letters and the
 * signing secret.
 */
export * from './address-ranges.js';
export * from './allowlist.js';
export * from './dead-letters.js';
export * from './delivery-agent.js';
export * from './events.js';
export * from './publisher.js';
export * from './secret.js';
export * from './signature.js';
export * from './worker.js';
