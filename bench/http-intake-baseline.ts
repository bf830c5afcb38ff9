/**
 * The baseline of the HTTP intake benchmark, run as a child process like the API: a bare fastify
 * server whose `POST /v1/tickets` parses the JSON body and answers 202 with the TicketId, nothing
 * else (no auth, no validation, no Redis). Same host, port and log level settings as the API
 * (API_HOST, API_PORT, LOG_LEVEL), the same pino logger; `GET /healthz` for readiness.
 */
import fastify from 'fastify';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { runProcess } from '../src/process.js';

await runProcess(async () => {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel, name: 'bench-bare-fastify' });
  const app = fastify({ loggerInstance: logger });
  app.get('/healthz', () => Promise.resolve({ status: 'ok' }));
  app.post('/v1/tickets', (request, reply) => {
    const body = request.body as { TicketId?: unknown } | undefined;
    void reply.code(202);
    return Promise.resolve({ TicketId: body?.TicketId });
  });
  await app.listen({ host: config.api.host, port: config.api.port });
  return { close: () => app.close() };
});
