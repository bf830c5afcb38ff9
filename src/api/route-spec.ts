/**
 * A route as one declaration: fastify registers its handler and the OpenAPI document describes it
 * from the same object, so that no route goes undocumented.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { problemError, requiredMessage, zodProblems, type ProblemType } from './problems.js';

/** One route of the API. */
export interface RouteSpec {
  method: 'GET' | 'POST';
  /** In fastify's syntax, e.g. `/v1/tickets/:id`. */
  url: string;
  operationId: string;
  summary: string;
  /** Served without a bearer token. */
  public?: boolean;
  /** The request body, as the client sends it. */
  body?: z.ZodType;
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** Success answers by status. */
  responses: Partial<Record<200 | 202, { description: string; schema: z.ZodType }>>;
  /** Problems this route answers besides the ones every route may (401, 415, 413, 500). */
  problems: readonly ProblemType[];
  handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

/**
 * `value` parsed by `schema`; otherwise a problem of `type` naming every bad field (a missing one
 * "is required").
 */
export function parseOrProblem<S extends z.ZodType>(
  schema: S,
  value: unknown,
  type: ProblemType,
  detail: string,
): z.output<S> {
  const parsed = schema.safeParse(value, { error: requiredMessage });
  if (!parsed.success) throw problemError(type, detail, { errors: zodProblems(parsed.error) });
  return parsed.data;
}

/** The API path of one ticket. */
export function ticketPath(ticketId: string): string {
  return `/v1/tickets/${encodeURIComponent(ticketId)}`;
}
