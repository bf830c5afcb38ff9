/**
 * Emulator admin endpoints (loopback tooling for tests, benchmarks and chaos runs):
 * - `GET /__admin/faults`, `PUT /__admin/faults` (JSON body, replaces the config)
 * - `GET /__admin/counters`, `DELETE /__admin/counters`: calls by action and outcome
 * - `GET /__admin/peaks`: per action, the most calls admitted in any one-second window since the
 *   counters were last cleared (`DELETE /__admin/counters` clears both)
 * - `GET /__admin/tickets/:biz/:ticketId`: the emulator's own record (verdicts, no personal data)
 * - `GET /__admin/answer-times`: per ticket (`{biz: {ticketId: ms}}`), the time the emulator spent
 *   answering its calls, arrival to answer, the injected latency included; a SubmitMaterials is
 *   the ticket's whose token it carried while the token is remembered (cleared with the counters)
 */
import type { FastifyInstance } from 'fastify';
import { ZodError } from 'zod';
import type { FaultInjector } from '../faults.js';
import type { EmulatorRegistry } from './registry.js';
import { visibleStatus } from './verdict.js';

export interface AdminDeps {
  faults: FaultInjector;
  registry: EmulatorRegistry;
  clock: () => number;
}

export function registerAdminRoutes(app: FastifyInstance, deps: AdminDeps): void {
  app.get('/__admin/faults', () => deps.faults.get());
  app.put('/__admin/faults', (req, reply) => {
    try {
      deps.faults.set(req.body);
      return deps.faults.get();
    } catch (err) {
      if (err instanceof ZodError) {
        return reply.code(400).send({
          message: 'invalid fault config',
          issues: err.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
        });
      }
      throw err;
    }
  });
  app.get('/__admin/counters', () => deps.faults.counters());
  app.get('/__admin/peaks', () => deps.faults.peaks());
  app.get('/__admin/answer-times', () => {
    // Maps, turned into objects at the end: a Biz or TicketId such as `__proto__` stays a key
    const out = new Map<string, Map<string, number>>();
    const add = (biz: string, ticketId: string, ms: number) => {
      let byTicket = out.get(biz);
      if (byTicket === undefined) out.set(biz, (byTicket = new Map<string, number>()));
      byTicket.set(ticketId, (byTicket.get(ticketId) ?? 0) + ms);
    };
    for (const [key, ms] of deps.faults.answerTimes()) {
      if (key.startsWith('token:')) {
        const owner = deps.registry.tokenOwner(key.slice('token:'.length));
        if (owner !== undefined) add(owner.biz, owner.ticketId, ms);
        continue;
      }
      const slash = key.indexOf('/');
      add(key.slice(0, slash), key.slice(slash + 1), ms);
    }
    return Object.fromEntries(
      [...out].map(([biz, byTicket]) => [biz, Object.fromEntries(byTicket)]),
    );
  });
  app.delete('/__admin/counters', (_req, reply) => {
    deps.faults.resetCounters();
    return reply.code(204).send();
  });
  app.get<{ Params: { biz: string; ticketId: string } }>(
    '/__admin/tickets/:biz/:ticketId',
    (req, reply) => {
      const t = deps.registry.ticket(req.params.biz, req.params.ticketId);
      if (!t) return reply.code(404).send({ message: 'unknown ticket' });
      const now = deps.clock();
      return {
        biz: t.biz,
        scheme: t.scheme,
        ticketId: t.ticketId,
        tokensIssued: t.tokensIssued,
        submissions: t.submissions.map((s) => ({
          at: new Date(s.at).toISOString(),
          via: s.via,
          statusCode: visibleStatus(s.verdict, now),
          auditConclusions: s.verdict.auditConclusions,
        })),
      };
    },
  );
}
