/**
 * Operations routes, a fastify plugin registered by the HTTP API:
 *
 * - `GET /healthz`: 200 `{status: 'ok'}` while the process answers.
 * - `GET /readyz`: 200 `{status: 'ok', checks}` when every {@link HealthCheck} check passes, else
 *   503 `{status: 'unavailable', checks}` naming each check `ok` or `fail`.
 * - `GET /metrics`: the {@link Telemetry} registry in Prometheus's text format.
 *
 * None needs the API's bearer token (route config `public`), except `/metrics` when
 * `metricsAuth` is set (`METRICS_AUTH`): scrapers usually carry no token, and the metrics hold
 * counts only, no personal data. Probes and scrapes must not depend on a token an orchestrator
 * rotates.
 */
import type { FastifyPluginCallback } from 'fastify';
import type { HealthCheck } from '../ops/health.js';
import type { Telemetry } from '../ops/metrics.js';

/** Options of {@link opsRoutes}; a route whose part is absent is not served. */
export interface OpsRoutesOptions {
  /** Serves `GET /metrics`. */
  telemetry?: Telemetry;
  /** Serves `GET /readyz`. */
  health?: Pick<HealthCheck, 'readiness'>;
  /** `GET /metrics` requires the API's bearer token (`METRICS_AUTH`). Default false. */
  metricsAuth?: boolean;
}

/** Registers `/healthz`, and `/readyz` and `/metrics` when their parts are given. */
export const opsRoutes: FastifyPluginCallback<OpsRoutesOptions> = (app, options, done) => {
  app.get('/healthz', { config: { public: true } }, (_request, reply) =>
    reply.header('cache-control', 'no-store').send({ status: 'ok' }),
  );
  const { health, telemetry } = options;
  if (health) {
    app.get('/readyz', { config: { public: true } }, async (_request, reply) => {
      const { ready, checks } = await health.readiness();
      return reply
        .code(ready ? 200 : 503)
        .header('cache-control', 'no-store')
        .send({ status: ready ? 'ok' : 'unavailable', checks });
    });
  }
  if (telemetry) {
    app.get(
      '/metrics',
      { config: { public: options.metricsAuth !== true } },
      async (_request, reply) => {
        const text = await telemetry.metrics();
        return reply
          .type(telemetry.registry.contentType)
          .header('cache-control', 'no-store')
          .send(text);
      },
    );
  }
  done();
};
