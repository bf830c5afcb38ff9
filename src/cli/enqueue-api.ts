/**
 * The second pass of `enqueue --api`: the rows the first pass found valid and new are read again,
 * checked again, their local image files (or `--photos` entries) read and sent as bytes (`base64://`) in
 * `POST /v1/tickets/batch` requests sized under the API's body limit (see `request-packing.ts`).
 * The API judges each row; a row it refuses is logged as invalid with its reasons.
 *
 * A request the API does not take as a whole (a 503 `STORE_FULL`, `STORE_UNAVAILABLE`,
 * `STAGING_FULL`, `STAGING_UNAVAILABLE`, no answer, a refused token) stops the pass: its rows and
 * every later one are logged as not accepted (`<input>.not-accepted.jsonl`), nothing more is sent,
 * and the pass answers the error the command ends with. Rows accepted before stay accepted: the
 * same command run again finds them known and skips them (and the API answers a TicketId it kept
 * from a refused request as a duplicate). A request refused as too large (413) is split in two and
 * sent again, and later requests are kept smaller; a ticket too large to go alone is invalid.
 */
import { readFile } from 'node:fs/promises';
import type { BatchResultView } from '../api/schemas.js';
import type { TicketInput } from '../flow/ticket-intake.js';
import { ApiError, ApiFailure, type ApiClient } from './api-client.js';
import { apiCliError } from './api-context.js';
import type { ApiTarget } from './api-target.js';
import { CONFLICT, type EnqueueTally } from './enqueue-rows.js';
import { CliError } from './exit-codes.js';
import { ticketIdOf, type InputRow } from './input-rows.js';
import type { InvalidRowLog } from './invalid-rows.js';
import {
  batchBody,
  DEFAULT_BATCH_MAX,
  DEFAULT_BODY_LIMIT_BYTES,
  envelopeBytes,
  requestBudget,
  RequestPacker,
  type Packed,
} from './request-packing.js';
import type { PhotoSource } from './photos.js';
import { checkInputRow, problemOf, type RowCheckContext, type RowProblem } from './row-check.js';
import { ValidationError } from '../errors.js';

/** What the second pass over the API needs. */
export interface SendRowsDeps {
  client: Pick<ApiClient, 'createBatch' | 'batchMax'>;
  target: ApiTarget;
  ctx: RowCheckContext;
  batchId: string;
  /** Invalid rows (the CLI's checks and the API's). */
  log: InvalidRowLog;
  /** Rows not accepted because sending stopped. */
  notAccepted: InvalidRowLog;
  /** TicketIds to send; emptied as they are met (the first occurrence of each). */
  validNew: Set<string>;
  /** Told after every request, with the rows handled so far. */
  onChunk?: (handled: number) => void;
  /** The API's `API_BODY_LIMIT_BYTES`; default its default. */
  bodyLimitBytes?: number;
}

/** What the pass did; `stopped` is the error the command ends with after its summary. */
export interface SendTally extends EnqueueTally {
  /** Of `invalid`, the rows the API refused (its own checks, or as too large). */
  refused?: number;
  stopped?: CliError;
}

/** A row on its way: its place in the file and its ticket as JSON (images as bytes). */
interface Item {
  line: number;
  ticketId: string;
  json: string;
}

const MB = 1024 * 1024;
const megabytes = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;

/**
 * The ticket of `request` as the API takes it: each local image file of `input` (in `photos`, the
 * `--photos` folder or archive, when given) replaced by its bytes as `base64://`; problems when a
 * file cannot be read now.
 */
export async function ticketJson(
  request: Record<string, unknown>,
  input: TicketInput,
  photos?: PhotoSource,
): Promise<{ json: string } | { problems: RowProblem[] }> {
  const files = Object.entries(input.binding.materials).flatMap(([field, s]) =>
    s.kind === 'file' ? [[field, s.path] as const] : [],
  );
  if (files.length === 0) return { json: JSON.stringify(request) };
  const binding = { ...(request.Binding as Record<string, unknown>) };
  const problems: RowProblem[] = [];
  for (const [field, path] of files) {
    if (photos !== undefined) {
      try {
        const bytes = await photos.read(`Binding.${field}`, path);
        binding[field] = `base64://${bytes.toString('base64')}`;
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        problems.push(problemOf(err));
      }
      continue;
    }
    try {
      binding[field] = `base64://${(await readFile(path)).toString('base64')}`;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      problems.push({ field: `Binding.${field}`, message: `cannot be read (${code})` });
    }
  }
  return problems.length > 0
    ? { problems }
    : { json: JSON.stringify({ ...request, Binding: binding }) };
}

/** Sends the valid new rows of `rows`; answers what was done, and why it stopped if it did. */
export async function sendRows(
  rows: AsyncIterable<InputRow>,
  deps: SendRowsDeps,
): Promise<SendTally> {
  const maxItems = (await deps.client.batchMax().catch(() => undefined)) ?? DEFAULT_BATCH_MAX;
  const pass = new SendPass(deps, maxItems);
  for await (const row of rows) {
    if (!('request' in row)) continue;
    const ticketId = ticketIdOf(row.request);
    if (ticketId === undefined || !deps.validNew.delete(ticketId)) continue;
    await pass.row(row.line, ticketId, row.request, row.problems);
  }
  return pass.end();
}

class SendPass {
  readonly tally: Required<Omit<SendTally, 'stopped'>> = {
    enqueued: 0,
    alreadyKnown: 0,
    invalid: 0,
    refused: 0,
    missing: 0,
  };
  readonly #packer: RequestPacker<Item>;
  readonly #envelope: number;
  #maxBytes: number;
  #handled = 0;
  #stop: ApiError | undefined;

  constructor(
    private readonly deps: SendRowsDeps,
    maxItems: number,
  ) {
    this.#envelope = envelopeBytes(deps.batchId);
    this.#maxBytes = requestBudget(deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES);
    this.#packer = new RequestPacker({
      maxBytes: this.#maxBytes,
      maxItems,
      envelopeBytes: this.#envelope,
    });
  }

  async row(
    line: number,
    ticketId: string,
    request: Record<string, unknown>,
    cellProblems?: RowProblem[],
  ): Promise<void> {
    if (this.#stop !== undefined) {
      await this.#notAccepted([{ line, ticketId }], this.#notSent());
      return;
    }
    const check = await checkInputRow({ request, problems: cellProblems }, this.deps.ctx);
    const ticket = check.ok ? await ticketJson(request, check.input, this.deps.ctx.photos) : check;
    if ('problems' in ticket) {
      this.tally.invalid++;
      this.#handled++;
      await this.deps.log.add({ line, ticketId, problems: ticket.problems });
      return;
    }
    const bytes = Buffer.byteLength(ticket.json, 'utf8');
    await this.#dispatch(this.#packer.add({ line, ticketId, json: ticket.json }, bytes));
  }

  async end(): Promise<SendTally> {
    await this.#dispatch(this.#packer.flush());
    this.tally.missing = this.deps.validNew.size;
    if (this.#stop === undefined) return this.tally;
    const base = apiCliError(this.#stop, this.deps.target);
    const n = this.deps.notAccepted.count;
    return {
      ...this.tally,
      stopped: new CliError(
        base.exitCode,
        `${base.message}. Enqueue stopped: ${n} row${n === 1 ? ' was' : 's were'} not accepted (listed above); the rows accepted before stay accepted, and the same command run again skips them`,
      ),
    };
  }

  async #dispatch(packed: readonly Packed<Item>[]): Promise<void> {
    for (const p of packed) {
      if (p.kind === 'request') await this.#send(p.items);
      else {
        await this.#oversize(
          p.item,
          `${megabytes(p.bytes)} as JSON with its images, more than one request to the API may carry (${megabytes(this.#maxBytes)})`,
        );
      }
      this.deps.onChunk?.(this.#handled);
    }
  }

  async #send(items: readonly Item[]): Promise<void> {
    if (this.#stop !== undefined) {
      await this.#notAccepted(items, this.#notSent());
      return;
    }
    const body = batchBody(
      this.deps.batchId,
      items.map((i) => i.json),
    );
    let answer: BatchResultView;
    try {
      answer = await this.deps.client.createBatch(body);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      await this.#notTaken(items, Buffer.byteLength(body, 'utf8'), err);
      return;
    }
    const results = answer.results;
    if (results.length !== items.length || results.some((r, i) => r.index !== i)) {
      const err = new ApiError(
        ApiFailure.refused,
        `the API at ${this.deps.target.base} answered ${results.length} results for ${items.length} tickets`,
      );
      await this.#notTaken(items, 0, err);
      return;
    }
    for (const [i, r] of results.entries()) {
      const item = items[i];
      if (item !== undefined) await this.#record(item, r);
    }
  }

  /** A request the API did not take: split when too large, else the end of sending. */
  async #notTaken(items: readonly Item[], bytes: number, err: ApiError): Promise<void> {
    const [first] = items;
    if (err.failure === ApiFailure.tooLarge && first !== undefined) {
      if (items.length === 1) {
        this.tally.refused++;
        await this.#oversize(
          first,
          'the API refused its request, which carried it alone, as too large (413)',
        );
        return;
      }
      this.#maxBytes = Math.max(this.#envelope + 1, Math.floor(bytes / 2));
      this.#packer.shrink(this.#maxBytes);
      const half = Math.ceil(items.length / 2);
      await this.#send(items.slice(0, half));
      await this.#send(items.slice(half));
      return;
    }
    this.#stop = err;
    await this.#notAccepted(items, `sent, not accepted: ${err.message}`);
    // the rows waiting for the next request follow, in the file's order
    for (const p of this.#packer.flush()) {
      await this.#notAccepted(p.kind === 'request' ? p.items : [p.item], this.#notSent());
    }
  }

  async #record(item: Item, r: BatchResultView['results'][number]): Promise<void> {
    this.#handled++;
    switch (r.outcome) {
      case 'created':
        this.tally.enqueued++;
        return;
      case 'duplicate':
        this.tally.alreadyKnown++;
        return;
      case 'conflict':
        this.tally.invalid++;
        this.tally.refused++;
        await this.deps.log.add({
          line: item.line,
          ticketId: item.ticketId,
          problems: [{ field: 'TicketId', message: CONFLICT }],
        });
        return;
      case 'invalid':
        this.tally.invalid++;
        this.tally.refused++;
        await this.deps.log.add({
          line: item.line,
          ticketId: item.ticketId,
          problems: r.problems ?? [{ field: 'row', message: 'refused by the API' }],
        });
        return;
    }
  }

  /** A ticket too large for any request: invalid, since sending it again cannot help. */
  async #oversize(item: Item, why: string): Promise<void> {
    this.tally.invalid++;
    this.#handled++;
    await this.deps.log.add({
      line: item.line,
      ticketId: item.ticketId,
      problems: [
        {
          field: 'row',
          message: `not accepted: ${why}; give its images as smaller files or as URLs`,
        },
      ],
    });
  }

  async #notAccepted(
    items: readonly Pick<Item, 'line' | 'ticketId'>[],
    message: string,
  ): Promise<void> {
    for (const { line, ticketId } of items) {
      this.#handled++;
      await this.deps.notAccepted.add({ line, ticketId, problems: [{ field: 'row', message }] });
    }
  }

  #notSent(): string {
    return 'not sent: enqueue stopped at an earlier request';
  }
}
