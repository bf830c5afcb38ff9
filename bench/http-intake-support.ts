/**
 * The pure parts of the HTTP intake benchmark (`http-intake.ts`): the request body autocannon
 * sends (a new TicketId in every request through its `[<id>]` replacement, a synthetic applicant
 * with a valid GB 11643 number, the face photo as an `oss://` reference), and the figures taken
 * from an autocannon result.
 */
import type autocannon from 'autocannon';

/** What autocannon replaces with a new id in every request (its `idReplacement`). */
export const ID_PLACEHOLDER = '[<id>]';

/** A synthetic applicant (the number passes GB 11643; nobody's). */
const APPLICANT = { Name: '张伟', IdentificationNumber: '110105198001010016' } as const;

/** The body of `POST /v1/tickets` for an RPMin ticket whose TicketId is `prefix` + a new id. */
export function ticketRequestBody(prefix: string, biz = 'RPMin'): string {
  return JSON.stringify({
    TicketId: `${prefix}${ID_PLACEHOLDER}`,
    Biz: biz,
    Binding: { ...APPLICANT, FacePic: 'oss://bench-faces:faces/applicant.jpg' },
  });
}

/** One load run's figures. */
export interface LoadFigures {
  /** Responses per second over the run. */
  rps: number;
  /** Responses received. */
  responses: number;
  /** Responses by status code. */
  statuses: Record<string, number>;
  /** Connection errors (timeouts included). */
  errors: number;
  /** Latency percentiles, in ms. */
  p50Ms: number;
  p99Ms: number;
  durationS: number;
}

/** The figures of an autocannon result. */
export function loadFigures(result: autocannon.Result): LoadFigures {
  const statuses: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) {
    statuses[code] = stat.count ?? 0;
  }
  const responses = Object.values(statuses).reduce((a, b) => a + b, 0);
  return {
    rps: result.duration > 0 ? Math.round(responses / result.duration) : 0,
    responses,
    statuses,
    errors: result.errors,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    durationS: result.duration,
  };
}

/** Why a run does not count (a status other than `status`, or connection errors), if it does not. */
export function loadProblem(figures: LoadFigures, status: number): string | undefined {
  const others = Object.entries(figures.statuses).filter(([code]) => code !== String(status));
  if (figures.responses === 0) return 'no responses';
  if (others.length > 0) {
    return `statuses other than ${status}: ${others.map(([c, n]) => `${c} x${n}`).join(', ')}`;
  }
  if (figures.errors > 0) return `${figures.errors} connection errors`;
  return undefined;
}
