/**
 * One ticket request checked as the HTTP API checks it: the JSON shape (an unknown key named as a
 * field of its own, a missing one "required"), then `parseTicketRequest` (Biz, name, ID number,
 * images; local paths refused), then the callback URL policy; every problem reported together.
 */
import type { BizCatalogue } from '../domain/biz.js';
import type { ImageLimits } from '../adapters/oss/image-header.js';
import { OrchestratorError, ValidationError } from '../errors.js';
import type { TicketInput } from '../flow/ticket-intake.js';
import { parseTicketRequest, ticketRequestSchema } from '../flow/ticket-request.js';
import { fieldMessage, fieldProblems, requiredMessage, zodProblems } from './problems.js';
import type { FieldProblem } from './schemas.js';

/** Refuses a callback URL by throwing a {@link ValidationError} on `callbackUrl`. */
export type CallbackUrlCheck = (url: string) => Promise<void>;

/** How requests are checked. */
export interface TicketValidationOptions {
  /** Biz → scheme. */
  biz: BizCatalogue;
  batchId?: string;
  checkCallbackUrl?: CallbackUrlCheck | undefined;
  /** Pixel limits of images sent as bytes; default `DEFAULT_IMAGE_LIMITS`. */
  imageLimits?: ImageLimits | undefined;
}

/** A checked request: the input to enqueue, or every problem found. */
export type TicketValidation =
  { ok: true; input: TicketInput } | { ok: false; problems: FieldProblem[] };

async function callbackProblem(
  check: CallbackUrlCheck,
  url: string,
): Promise<FieldProblem | undefined> {
  try {
    await check(url);
    return undefined;
  } catch (err) {
    if (err instanceof ValidationError) return { field: 'callbackUrl', message: fieldMessage(err) };
    if (err instanceof OrchestratorError && err.fault === 'client') {
      return { field: 'callbackUrl', message: err.message };
    }
    throw err;
  }
}

/** Checks one request without throwing for what is wrong with it. */
export async function validateTicketRequest(
  raw: unknown,
  options: TicketValidationOptions,
): Promise<TicketValidation> {
  const shape = ticketRequestSchema.safeParse(raw, { error: requiredMessage });
  const problems: FieldProblem[] = shape.success ? [] : zodProblems(shape.error);
  let input: TicketInput | undefined;
  if (shape.success) {
    try {
      input = parseTicketRequest(raw, {
        biz: options.biz,
        ...(options.batchId === undefined ? {} : { batchId: options.batchId }),
        ...(options.imageLimits === undefined ? {} : { imageLimits: options.imageLimits }),
      });
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      problems.push(...fieldProblems(err));
    }
  }
  const callbackUrl =
    typeof raw === 'object' && raw !== null ? (raw as { callbackUrl?: unknown }).callbackUrl : null;
  if (
    options.checkCallbackUrl !== undefined &&
    typeof callbackUrl === 'string' &&
    !problems.some((p) => p.field === 'callbackUrl')
  ) {
    const problem = await callbackProblem(options.checkCallbackUrl, callbackUrl);
    if (problem) problems.push(problem);
  }
  if (input === undefined || problems.length > 0) return { ok: false, problems };
  return { ok: true, input };
}

/** Checks each distinct URL once (a batch usually names one callback URL for every ticket). */
export function oncePerUrl(check: CallbackUrlCheck): CallbackUrlCheck {
  const seen = new Map<string, Promise<void>>();
  return (url) => {
    let pending = seen.get(url);
    if (pending === undefined) {
      pending = check(url);
      seen.set(url, pending);
    }
    return pending;
  };
}
