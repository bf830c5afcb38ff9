import type autocannon from 'autocannon';
import { describe, expect, it } from 'vitest';
import { httpBenchLoad } from '../../bench/http-intake.js';
import {
  ID_PLACEHOLDER,
  loadFigures,
  loadProblem,
  ticketRequestBody,
  type LoadFigures,
} from '../../bench/http-intake-support.js';
import { parseTicketRequest } from '../../src/flow/ticket-request.js';

function result(statuses: Record<string, number>, errors = 0): autocannon.Result {
  const statusCodeStats = Object.fromEntries(
    Object.entries(statuses).map(([code, count]) => [code, { count }]),
  );
  return {
    statusCodeStats,
    errors,
    duration: 2,
    latency: { p50: 12, p99: 80 },
  } as unknown as autocannon.Result;
}

describe('the HTTP intake benchmark', () => {
  it('sends a valid RPMin ticket whose TicketId autocannon makes new for every request', () => {
    const body = ticketRequestBody('bench-r1-');
    expect(body.split(ID_PLACEHOLDER)).toHaveLength(2);
    // autocannon's ids are url-safe hyperids
    const raw: unknown = JSON.parse(body.replace(ID_PLACEHOLDER, 'b3Hj-Kq_9zR2wXyLmN0pQA-17'));
    const input = parseTicketRequest(raw, { biz: { RPMin: 'RPMin' } });
    expect(input.ticketId).toBe('bench-r1-b3Hj-Kq_9zR2wXyLmN0pQA-17');
    expect(input.binding.materials.FacePic?.kind).toBe('oss');
  });

  it('counts responses by status and per second', () => {
    expect(loadFigures(result({ 202: 3000 }))).toEqual<LoadFigures>({
      rps: 1500,
      responses: 3000,
      statuses: { 202: 3000 },
      errors: 0,
      p50Ms: 12,
      p99Ms: 80,
      durationS: 2,
    });
  });

  it('refuses a run with another status, connection errors or no response at all', () => {
    expect(loadProblem(loadFigures(result({ 202: 10 })), 202)).toBeUndefined();
    expect(loadProblem(loadFigures(result({ 202: 10, 401: 2 })), 202)).toBe(
      'statuses other than 202: 401 x2',
    );
    expect(loadProblem(loadFigures(result({ 202: 10 }, 3)), 202)).toBe('3 connection errors');
    expect(loadProblem(loadFigures(result({})), 202)).toBe('no responses');
  });

  it('loads both sides alike, longer and on fresh servers per round in a full run', () => {
    const quick = httpBenchLoad(true);
    const full = httpBenchLoad(false);
    expect(full.connections).toBe(quick.connections);
    expect(full.pipelining).toBe(quick.pipelining);
    expect(full.durationS).toBeGreaterThan(quick.durationS);
    expect(full.freshServers).toBe(true);
  });
});
