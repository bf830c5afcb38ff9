/**
 * A small HTTP server of its own for `/healthz`, `/readyz` and `/metrics`, for the processes that
 * serve no HTTP API (a `worker`): a hung worker must be visible to probes and scrapes too.
 */
import fastify from 'fastify';
import type { Logger } from '../logger.js';
import { opsRoutes, type OpsRoutesOptions } from '../api/ops-routes.js';

/** A running {@link startOpsServer}. */
export interface OpsServer {
  /** `http://host:port`. */
  url: string;
  close(): Promise<void>;
}

/** Serves the operations routes on `host:port` (0: a free port). */
export async function startOpsServer(
  options: OpsRoutesOptions & { host: string; port: number; logger: Logger },
): Promise<OpsServer> {
  const { host, port, logger, ...ops } = options;
  const app = fastify({ logger: false, forceCloseConnections: true });
  await app.register(opsRoutes, ops);
  await app.listen({ host, port });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP port bound');
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  // (not under the key `url`, which the logger redacts: it holds callback URLs elsewhere)
  logger.info({ opsHost: host, opsPort: address.port }, 'serving /healthz, /readyz and /metrics');
  return { url, close: () => app.close() };
}
