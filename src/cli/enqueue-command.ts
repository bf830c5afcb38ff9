/**
 * `enqueue <file.csv|file.jsonl> --biz <Biz> [--batch <id>] [--dry-run] [--wait] [--yes]
 * [--api <URL>]`: a first pass checks every row and prints the plan; a second pass enqueues the
 * valid new rows in chunks (after a y/N confirmation on a terminal, unless --yes); --wait then
 * follows the batch until every ticket has ended. The file is streamed twice; memory holds
 * TicketIds only. The passes talk to Redis through the app, or with `--api` to the HTTP API (see
 * `enqueue-api.ts`), which needs no configuration here but the URL and the token.
 */
import { access, constants, stat } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { App } from '../app.js';
import type { Config } from '../config.js';
import { callbackPolicyOf } from '../webhooks/allowlist.js';
import type { TicketState } from '../domain/ticket.js';
import type { TicketStore } from '../adapters/redis/ticket-store.js';
import { ApiError, type ApiClient } from './api-client.js';
import { API_EXIT_CODES, apiCliError, withApi } from './api-context.js';
import {
  checkApiBatchId,
  resolveApiTarget,
  type ApiOptions,
  type ApiTarget,
} from './api-target.js';
import { loadCliConfig, withApp, type CliIo } from './cli-context.js';
import { sendRows, type SendTally } from './enqueue-api.js';
import { enqueueRows } from './enqueue-rows.js';
import { CliError, enqueueExitCode, usageError, type ExitCode } from './exit-codes.js';
import { followBatch } from './follow-batch.js';
import { formatOf, readInputRows, type InputFormat, type InputRow } from './input-rows.js';
import { InvalidRowLog } from './invalid-rows.js';
import {
  estimateDuration,
  formatCounts,
  formatPlan,
  plural,
  validCount,
  type DurationEstimate,
  type Plan,
} from './plan.js';
import { preflight } from './preflight.js';
import { startProgress } from './progress.js';
import type { RowCheckContext } from './row-check.js';

/** The options of `enqueue`. */
export interface EnqueueOptions extends ApiOptions {
  /** Biz of rows that name none. */
  biz?: string;
  /** Batch id; default `<file name>-<UTC time>`. */
  batch?: string;
  /** Print the plan only. */
  dryRun?: boolean;
  /** Follow the batch until every ticket has ended. */
  wait?: boolean;
  /** Do not ask for confirmation. */
  yes?: boolean;
}

const BATCH_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * `<file name>-<yyyymmddThhmmssZ>`, the file name reduced to safe characters and to `nameMax` of
 * them (64; 47 over `--api`, whose batch ids have at most 64 characters in all).
 */
export function defaultBatchId(path: string, now: Date, nameMax = 64): string {
  const name =
    basename(path, extname(path))
      .replace(/[^A-Za-z0-9._-]+/g, '_')
      .slice(0, nameMax) || 'batch';
  return `${name}-${now.toISOString().replace(/[-:]|\.\d+/g, '')}`;
}

/** Characters of the file name in a default batch id over `--api` (64 less `-<time>`). */
const API_BATCH_NAME_MAX = 47;

/** Runs `enqueue`; answers the exit code. */
export async function enqueueCommand(
  file: string,
  options: EnqueueOptions,
  io: CliIo,
): Promise<ExitCode> {
  const path = resolve(io.cwd, file);
  const format = formatOf(path);
  const size = await readableSize(path);
  const target = await resolveApiTarget(options, io.env, io.cwd, io.stderr);
  if (target !== undefined) {
    const batchId = options.batch ?? defaultBatchId(path, new Date(), API_BATCH_NAME_MAX);
    checkApiBatchId(batchId);
    const spec = { path, format, size, batchId, options };
    return withApi(target, (client) =>
      new EnqueueRun(apiBackend(client, target, spec), io, spec).run(),
    );
  }
  const batchId = options.batch ?? defaultBatchId(path, new Date());
  if (!BATCH_ID.test(batchId)) {
    throw usageError('--batch must be 1–128 printable ASCII characters without spaces');
  }
  const config = loadCliConfig(io);
  if (options.biz !== undefined && config.cloudauth.biz[options.biz] === undefined) {
    throw usageError(
      `--biz "${options.biz}" is not configured in CLOUDAUTH_BIZ (configured: ${Object.keys(config.cloudauth.biz).join(', ')})`,
    );
  }
  const spec = { path, format, size, batchId, options };
  return withApp(config, (app) => new EnqueueRun(storeBackend(app, config, spec), io, spec).run());
}

interface RunSpec {
  path: string;
  format: InputFormat;
  size: number;
  batchId: string;
  options: EnqueueOptions;
}

/** What the second pass needs of the run. */
interface SecondPassDeps {
  log: InvalidRowLog;
  notAccepted: InvalidRowLog;
  validNew: Set<string>;
  onChunk: (handled: number) => void;
}

/** Where a run enqueues: Redis through the app, or the HTTP API. */
interface EnqueueBackend {
  ctx: RowCheckContext;
  /** What the first pass and --wait read. */
  store: Pick<TicketStore, 'existing' | 'countBatch'>;
  /** How long the provider calls of the valid new rows take (by action). */
  estimate(calls: Readonly<Record<string, number>>): DurationEstimate;
  enqueue(rows: AsyncIterable<InputRow>, deps: SecondPassDeps): Promise<SendTally>;
}

function storeBackend(app: App, config: Config, spec: RunSpec): EnqueueBackend {
  const ctx: RowCheckContext = {
    biz: config.cloudauth.biz,
    baseDir: dirname(spec.path),
    batchId: spec.batchId,
    imageLimits: { maxPixels: config.images.maxPixels, maxSidePx: config.images.maxSidePx },
    callbackPolicy: callbackPolicyOf(config),
  };
  return {
    ctx,
    store: app.store,
    estimate: (calls) => estimateDuration(calls, config.queue.qps, config.queue.qpsHeadroom),
    enqueue: (rows, deps) => enqueueRows(rows, { intake: app.intake, ctx, ...deps }),
  };
}

/**
 * The HTTP API as a backend. Its Biz list, QPS limits and image limits are its own: the CLI checks
 * what it can without them (see `RowCheckContext.biz`) and the API the rest, per row. A failure
 * while the first pass asks which TicketIds the API knows ends the command before anything is sent.
 */
function apiBackend(client: ApiClient, target: ApiTarget, spec: RunSpec): EnqueueBackend {
  const ctx: RowCheckContext = {
    biz: undefined,
    baseDir: dirname(spec.path),
    batchId: spec.batchId,
  };
  return {
    ctx,
    store: {
      existing: async (ids) => {
        try {
          return await client.existing(ids);
        } catch (err) {
          if (!(err instanceof ApiError)) throw err;
          throw new CliError(
            API_EXIT_CODES[err.failure],
            `${apiCliError(err, target).message}. Nothing was sent: no row of ${spec.path} was accepted`,
          );
        }
      },
      countBatch: (batchId) => client.countBatch(batchId),
    },
    estimate: () => ({ kind: 'unknown' }),
    enqueue: (rows, deps) =>
      sendRows(rows, { client, target, ctx, batchId: spec.batchId, ...deps }),
  };
}

class EnqueueRun {
  readonly #log: InvalidRowLog;
  readonly #notAccepted: InvalidRowLog;

  constructor(
    private readonly backend: EnqueueBackend,
    private readonly io: CliIo,
    private readonly spec: RunSpec,
  ) {
    this.#log = new InvalidRowLog(spec.path, io.cwd);
    this.#notAccepted = new InvalidRowLog(spec.path, io.cwd, 50, '.not-accepted.jsonl');
  }

  async run(): Promise<ExitCode> {
    const { options } = this.spec;
    const out = this.io.stdout;
    await this.#log.removeStale();
    await this.#notAccepted.removeStale();
    try {
      const { plan, validNew, calls } = await this.#preflight();
      out.write(formatPlan(plan, this.backend.estimate(calls)));
      if (options.dryRun) {
        out.write('Dry run: nothing enqueued.\n');
        return enqueueExitCode({ invalid: plan.invalid });
      }
      let invalid = plan.invalid;
      if (validCount(plan) === 0) {
        out.write('Nothing new to enqueue.\n');
      } else {
        if (!options.yes && this.io.stdin.isTTY === true && !(await this.#confirm(plan))) {
          out.write('Not enqueued.\n');
          return enqueueExitCode({ invalid });
        }
        const tally = await this.#enqueue(validNew);
        invalid += tally.invalid + tally.missing;
        out.write(this.#summary(tally, invalid));
        if (tally.stopped !== undefined) throw tally.stopped;
      }
      let final: Record<TicketState, number> | undefined;
      if (options.wait) {
        final = await followBatch(this.backend.store, this.spec.batchId, {
          stream: this.io.stderr,
          tty: this.io.stderr.isTTY === true,
        });
        out.write(`Final: ${formatCounts(final)}\n`);
      }
      return enqueueExitCode({ invalid, ...(final === undefined ? {} : { final }) });
    } finally {
      await this.#log.close();
      await this.#notAccepted.close();
    }
  }

  async #preflight(): Promise<{
    plan: Plan;
    validNew: Set<string>;
    calls: Readonly<Record<string, number>>;
  }> {
    const { path, format, size, batchId, options } = this.spec;
    const reading = readInputRows(path, format, options.biz);
    let rows = 0;
    const progress = startProgress({
      stream: this.io.stderr,
      tty: this.io.stderr.isTTY === true,
      label: 'checking',
      total: size,
      describe: () => `${rows} rows`,
      plainIntervalMs: 5000,
    });
    const result = await preflight(reading.rows, {
      store: this.backend.store,
      ctx: this.backend.ctx,
      log: this.#log,
      onChunk: (n) => {
        rows = n;
        progress.update(reading.bytesRead());
      },
    });
    progress.update(size);
    progress.stop();
    await this.#log.flush();
    const plan: Plan = {
      file: path,
      batchId,
      rowsRead: result.rowsRead,
      validNew: result.flows,
      ...(result.flowUnknown === 0 ? {} : { validNewFlowUnknown: result.flowUnknown }),
      ...(result.startLink === 0 ? {} : { validNewStartLink: result.startLink }),
      alreadyKnown: result.alreadyKnown,
      invalid: this.#log.count,
      invalidRows: this.#log.kept,
      invalidLog: this.#log.path,
    };
    return { plan, validNew: result.validNew, calls: result.calls };
  }

  async #confirm(plan: Plan): Promise<boolean> {
    const rl = createInterface({ input: this.io.stdin, output: this.io.stderr });
    const interrupted = new AbortController();
    rl.on('SIGINT', () => interrupted.abort());
    try {
      const answer = await rl.question(
        `Enqueue ${plural(validCount(plan), 'ticket')} into batch ${plan.batchId}? [y/N] `,
        { signal: interrupted.signal },
      );
      return /^y(es)?$/i.test(answer.trim());
    } catch (err) {
      if (interrupted.signal.aborted) return false;
      throw err;
    } finally {
      rl.close();
    }
  }

  async #enqueue(validNew: Set<string>): Promise<SendTally> {
    const { path, format, options } = this.spec;
    const total = validNew.size;
    const progress = startProgress({
      stream: this.io.stderr,
      tty: this.io.stderr.isTTY === true,
      label: 'enqueuing',
      total,
      describe: (n) => `${n}/${total} tickets`,
    });
    try {
      return await this.backend.enqueue(readInputRows(path, format, options.biz).rows, {
        log: this.#log,
        notAccepted: this.#notAccepted,
        validNew,
        onChunk: (n) => progress.update(n),
      });
    } finally {
      // also when Redis is out of memory (exit 7): the bar ends before the message
      progress.stop();
    }
  }

  #summary(tally: SendTally, invalid: number): string {
    const lines = [
      `Enqueued ${plural(tally.enqueued, 'ticket')} into batch ${this.spec.batchId}.`,
      `  enqueued          ${tally.enqueued}`,
    ];
    if (tally.alreadyKnown > 0) {
      lines.push(`  enqueued meanwhile by another producer ${tally.alreadyKnown}`);
    }
    const refused = tally.refused ?? 0;
    if (tally.invalid > refused) lines.push(`  invalid since the plan ${tally.invalid - refused}`);
    if (refused > 0) lines.push(`  refused by the API ${refused}`);
    if (tally.missing > 0) {
      lines.push(`  not found on the second read (the file changed) ${tally.missing}`);
    }
    const notAccepted = this.#notAccepted;
    if (notAccepted.count > 0) {
      lines.push(`  not accepted      ${notAccepted.count} (all in ${notAccepted.path ?? '?'})`);
      for (const row of notAccepted.kept) {
        lines.push(`    line ${row.line}  ${row.ticketId ?? ''}`.trimEnd());
      }
      const more = notAccepted.count - notAccepted.kept.length;
      if (more > 0) lines.push(`    … and ${more} more`);
    }
    const where = this.#log.path === undefined ? '' : ` (all in ${this.#log.path})`;
    lines.push(`  invalid rows      ${invalid}${where}`);
    return `${lines.join('\n')}\n`;
  }
}

async function readableSize(path: string): Promise<number> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw usageError(`${path} is not a regular file`);
    await access(path, constants.R_OK);
    return s.size;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw usageError(`${path} does not exist`);
    if (code !== undefined) throw usageError(`cannot read ${path} (${code})`);
    throw err;
  }
}
