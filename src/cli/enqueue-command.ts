/**
 * `enqueue <file.csv|file.jsonl|file.xlsx|-> --biz <Biz> [--batch <id>] [--format csv|jsonl|xlsx]
 * [--encoding utf-8|gb18030|gbk] [--sheet NAME] [--photos DIR|photos.zip] [--dry-run] [--wait]
 * [--yes] [--json] [--api <URL>]`: a first pass checks every row and prints the plan; a
 * second pass enqueues the valid new rows in chunks (after a y/N confirmation on a terminal,
 * unless --yes); --wait then follows the batch until every ticket has ended. The file is streamed
 * twice; memory holds TicketIds only. The passes talk to Redis through the app, or with `--api`
 * to the HTTP API (see `enqueue-api.ts`), which needs no configuration here but the URL and the
 * token.
 *
 * `-` reads standard input instead (`--format`, default csv). It can be read only once, so it is
 * held in memory for both passes (up to {@link STDIN_MAX_BYTES}), never written to disk: it holds
 * names and ID numbers. `--json` prints one JSON document on stdout instead of the text (see
 * {@link EnqueueReport}); progress stays on stderr.
 *
 * A CSV or JSONL input's encoding is decided once, before the first pass, from the whole input
 * (UTF-8 when it has a BOM or is valid UTF-8, else GB18030; `--encoding` forces one: see
 * `input-encoding.ts`), and the plan says which. A workbook's sheet is chosen (and a missing one
 * refused) before the first pass too. `--photos` opens the folder or archive the image paths are
 * found in for the whole run, and closes it at the end.
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
import {
  detectBufferEncoding,
  detectFileEncoding,
  forcedEncoding,
  type EncodingChoice,
  type EncodingOption,
} from './input-encoding.js';
import { formatOf, readInputRows, type InputFormat, type InputRow } from './input-rows.js';
import { InvalidRowLog, type InvalidRow } from './invalid-rows.js';
import { writeJson } from './output.js';
import {
  estimateDuration,
  formatCounts,
  formatPlan,
  plural,
  validCount,
  type DurationEstimate,
  type Plan,
  type PlanPhotos,
} from './plan.js';
import { openPhotos, type PhotoSource } from './photos.js';
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
  /** The input format; default by the file's extension, `csv` for standard input. */
  format?: InputFormat;
  /** A CSV or JSONL input's encoding; default decided from the input (see `input-encoding.ts`). */
  encoding?: EncodingOption;
  /** A workbook's sheet; default its first visible one. */
  sheet?: string;
  /** The folder or `.zip` archive the rows' image paths are found in (see `photos.ts`). */
  photos?: string;
  /** One JSON document on stdout. */
  json?: boolean;
}

/** The file argument naming standard input. */
const STDIN = '-';
/** What standard input's rows are called: in messages, and the name of their invalid-row log. */
const STDIN_LABEL = '(standard input)';
const STDIN_NAME = 'stdin';
/** The most of standard input held in memory; a larger input is given as a file. */
export const STDIN_MAX_BYTES = 256 * 1024 * 1024;

/** Invalid rows listed in the plan (text, and `--json`). */
const SHOWN_INVALID_ROWS = 50;

/**
 * What `enqueue --json` prints: the plan, what the run did (`outcome`), what the second pass
 * enqueued, and with `--wait` the batch's final counts. No personal data: invalid rows by line,
 * TicketId and field-level reasons, as in the text.
 */
export interface EnqueueReport {
  file: string;
  batchId: string;
  format: InputFormat;
  /** A CSV or JSONL input: the encoding it was read in, and why; null for a workbook. */
  encoding: EncodingChoice | null;
  /** A workbook: the sheet read; else null. */
  sheet: string | null;
  /** `--photos`; else null. */
  photos: PlanPhotos | null;
  outcome: 'dry-run' | 'nothing-new' | 'not-confirmed' | 'enqueued' | 'stopped';
  plan: {
    rowsRead: number;
    validNew: number;
    validNewByFlow: Plan['validNew'];
    /** Over `--api`: valid new rows whose flow only the API knows. */
    validNewFlowUnknown: number;
    /** Valid new rows of a financial ID_PRO Biz (each waits for its person's start link). */
    validNewStartLink: number;
    alreadyKnown: number;
    invalid: number;
    /** The first invalid rows (at most 50). */
    invalidRows: readonly InvalidRow[];
    invalidLog: string | null;
    estimate: DurationEstimate;
  };
  /** Null when nothing was sent (dry run, nothing new, not confirmed). */
  enqueued: {
    enqueued: number;
    /** Enqueued meanwhile by another producer. */
    alreadyKnown: number;
    /** Found invalid on the second pass (the API's refusals included). */
    invalid: number;
    refusedByApi: number;
    /** Not found on the second read (the file changed). */
    missing: number;
    notAccepted: number;
    notAcceptedLog: string | null;
  } | null;
  /** Invalid rows in all (the plan's and the second pass's). */
  invalid: number;
  invalidLog: string | null;
  /** With `--wait`: tickets of the batch per state at the end; else null. */
  final: Record<TicketState, number> | null;
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

/** Reads all of standard input; a usage error past {@link STDIN_MAX_BYTES}. */
async function readStdin(io: CliIo, max = STDIN_MAX_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin as AsyncIterable<Buffer | string>) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    size += bytes.length;
    if (size > max) {
      throw usageError(
        `standard input is over ${max / (1024 * 1024)} MiB: give the rows as a file (which is read twice, never held in memory)`,
      );
    }
    chunks.push(bytes);
  }
  return Buffer.concat(chunks);
}

/** The input: a file (checked readable), or standard input (read whole). */
async function inputOf(
  file: string,
  options: EnqueueOptions,
  io: CliIo,
): Promise<Pick<RunSpec, 'path' | 'label' | 'format' | 'size' | 'data' | 'encoding' | 'sheet'>> {
  if (file !== STDIN) {
    const path = resolve(io.cwd, file);
    const format = options.format ?? formatOf(path);
    const size = await readableSize(path);
    return { path, label: path, format, size, ...(await readingOf(path, path, format, options)) };
  }
  if (io.stdin.isTTY === true && !options.yes && !options.dryRun) {
    throw usageError(
      'with -, standard input holds the rows, so enqueue cannot ask before it enqueues: add --yes (or --dry-run)',
    );
  }
  const data = await readStdin(io);
  // relative image paths and the invalid-row log are then the working directory's
  const path = resolve(io.cwd, STDIN_NAME);
  const format = options.format ?? 'csv';
  return {
    path,
    label: STDIN_LABEL,
    format,
    size: data.length,
    data,
    ...(await readingOf(data, STDIN_LABEL, format, options)),
  };
}

/**
 * How the input is read besides its format: a CSV or JSONL input's encoding (`--encoding`, else
 * decided from the whole input), a workbook's sheet (checked to exist). Usage errors for an option
 * that does not fit the format.
 */
async function readingOf(
  source: string | Buffer,
  label: string,
  format: InputFormat,
  options: EnqueueOptions,
): Promise<{ encoding?: EncodingChoice; sheet?: string }> {
  if (format === 'xlsx') {
    if (options.encoding !== undefined) {
      throw usageError('--encoding is for CSV and JSONL: a workbook holds its text as Unicode');
    }
    const { workbookSheet } = await import('./xlsx-rows.js');
    return { sheet: await workbookSheet(source, label, options.sheet) };
  }
  if (options.sheet !== undefined) throw usageError('--sheet is for .xlsx workbooks');
  if (options.encoding !== undefined) return { encoding: forcedEncoding(options.encoding) };
  const encoding =
    typeof source === 'string'
      ? await detectFileEncoding(source, label)
      : await detectBufferEncoding(source, label);
  return { encoding };
}

/** Runs `enqueue`; answers the exit code. */
export async function enqueueCommand(
  file: string,
  options: EnqueueOptions,
  io: CliIo,
): Promise<ExitCode> {
  const input = await inputOf(file, options, io);
  const photos =
    options.photos === undefined ? undefined : await openPhotos(options.photos, io.cwd);
  try {
    return await enqueueInput({ ...input, photos }, options, io);
  } finally {
    photos?.close();
  }
}

async function enqueueInput(
  input: Omit<RunSpec, 'batchId' | 'options'>,
  options: EnqueueOptions,
  io: CliIo,
): Promise<ExitCode> {
  const { path } = input;
  const target = await resolveApiTarget(options, io.env, io.cwd, io.stderr);
  if (target !== undefined) {
    const batchId = options.batch ?? defaultBatchId(path, new Date(), API_BATCH_NAME_MAX);
    checkApiBatchId(batchId);
    const spec = { ...input, batchId, options };
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
  const spec = { ...input, batchId, options };
  return withApp(config, (app) => new EnqueueRun(storeBackend(app, config, spec), io, spec).run());
}

interface RunSpec {
  /** The input file (standard input: `<cwd>/stdin`, which names its invalid-row log). */
  path: string;
  /** How the input is named in the plan and in messages. */
  label: string;
  format: InputFormat;
  size: number;
  /** Standard input's bytes; undefined: read the file. */
  data?: Buffer | undefined;
  /** A CSV or JSONL input's encoding. */
  encoding?: EncodingChoice | undefined;
  /** A workbook's sheet. */
  sheet?: string | undefined;
  /** `--photos`, open for the run. */
  photos?: PhotoSource | undefined;
  batchId: string;
  options: EnqueueOptions;
}

/** Where relative image paths resolve, and where `--photos` finds them. */
function photoContext(spec: RunSpec): Pick<RowCheckContext, 'baseDir' | 'photos'> {
  return spec.photos === undefined
    ? { baseDir: dirname(spec.path) }
    : { baseDir: spec.photos.path, photos: spec.photos };
}

/** The plan's and the report's description of `--photos`. */
function planPhotos(photos: PhotoSource | undefined): PlanPhotos | undefined {
  if (photos === undefined) return undefined;
  return {
    kind: photos.kind,
    path: photos.path,
    ...(photos.kind === 'archive'
      ? { entries: photos.entries, refusedEntries: photos.refusedEntries }
      : {}),
  };
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
    ...photoContext(spec),
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
    ...photoContext(spec),
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
            `${apiCliError(err, target).message}. Nothing was sent: no row of ${spec.label} was accepted`,
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
    const json = options.json === true;
    // with --json, the text is left out and the report printed once, whatever the outcome
    const text = (t: string) => {
      if (!json) this.io.stdout.write(t);
    };
    await this.#log.removeStale();
    await this.#notAccepted.removeStale();
    try {
      const { plan, validNew, calls } = await this.#preflight();
      const estimate = this.backend.estimate(calls);
      const report = this.#report(plan, estimate);
      const finish = (outcome: EnqueueReport['outcome'], invalid: number): void => {
        if (!json) return;
        report.outcome = outcome;
        report.invalid = invalid;
        report.invalidLog = this.#log.path ?? null;
        writeJson(this.io.stdout, report);
      };
      text(formatPlan(plan, estimate, SHOWN_INVALID_ROWS));
      if (options.dryRun) {
        text('Dry run: nothing enqueued.\n');
        finish('dry-run', plan.invalid);
        return enqueueExitCode({ invalid: plan.invalid });
      }
      let invalid = plan.invalid;
      if (validCount(plan) === 0) {
        text('Nothing new to enqueue.\n');
      } else {
        if (!options.yes && this.io.stdin.isTTY === true && !(await this.#confirm(plan))) {
          text('Not enqueued.\n');
          finish('not-confirmed', invalid);
          return enqueueExitCode({ invalid });
        }
        const tally = await this.#enqueue(validNew);
        invalid += tally.invalid + tally.missing;
        text(this.#summary(tally, invalid));
        report.enqueued = {
          enqueued: tally.enqueued,
          alreadyKnown: tally.alreadyKnown,
          invalid: tally.invalid,
          refusedByApi: tally.refused ?? 0,
          missing: tally.missing,
          notAccepted: this.#notAccepted.count,
          notAcceptedLog: this.#notAccepted.path ?? null,
        };
        if (tally.stopped !== undefined) {
          // the document says what was done; the error (stderr, exit code) why it stopped
          finish('stopped', invalid);
          throw tally.stopped;
        }
      }
      let final: Record<TicketState, number> | undefined;
      if (options.wait) {
        final = await followBatch(this.backend.store, this.spec.batchId, {
          stream: this.io.stderr,
          tty: this.io.stderr.isTTY === true,
        });
        text(`Final: ${formatCounts(final)}\n`);
        report.final = final;
      }
      finish(report.enqueued === null ? 'nothing-new' : 'enqueued', invalid);
      return enqueueExitCode({ invalid, ...(final === undefined ? {} : { final }) });
    } finally {
      await this.#log.close();
      await this.#notAccepted.close();
    }
  }

  /** The `--json` report of the plan; the rest is filled in as the run goes. */
  #report(plan: Plan, estimate: DurationEstimate): EnqueueReport {
    return {
      file: this.spec.label,
      batchId: this.spec.batchId,
      format: this.spec.format,
      encoding: this.spec.encoding ?? null,
      sheet: this.spec.sheet ?? null,
      photos: planPhotos(this.spec.photos) ?? null,
      outcome: 'dry-run',
      plan: {
        rowsRead: plan.rowsRead,
        validNew: validCount(plan),
        validNewByFlow: plan.validNew,
        validNewFlowUnknown: plan.validNewFlowUnknown ?? 0,
        validNewStartLink: plan.validNewStartLink ?? 0,
        alreadyKnown: plan.alreadyKnown,
        invalid: plan.invalid,
        invalidRows: plan.invalidRows.slice(0, SHOWN_INVALID_ROWS),
        invalidLog: plan.invalidLog ?? null,
        estimate,
      },
      enqueued: null,
      invalid: plan.invalid,
      invalidLog: plan.invalidLog ?? null,
      final: null,
    };
  }

  async #preflight(): Promise<{
    plan: Plan;
    validNew: Set<string>;
    calls: Readonly<Record<string, number>>;
  }> {
    const { label, data, format, size, batchId, options } = this.spec;
    const reading = readInputRows(label, format, options.biz, data, this.#readOptions());
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
      file: label,
      batchId,
      encoding: this.spec.encoding,
      sheet: this.spec.sheet,
      photos: planPhotos(this.spec.photos),
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

  #readOptions() {
    return { encoding: this.spec.encoding, sheet: this.spec.sheet };
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
    const { label, data, format, options } = this.spec;
    const total = validNew.size;
    const progress = startProgress({
      stream: this.io.stderr,
      tty: this.io.stderr.isTTY === true,
      label: 'enqueuing',
      total,
      describe: (n) => `${n}/${total} tickets`,
    });
    try {
      const reading = readInputRows(label, format, options.biz, data, this.#readOptions());
      return await this.backend.enqueue(reading.rows, {
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
