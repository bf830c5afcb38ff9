/**
 * `enqueue <file.csv|file.jsonl> --biz <Biz> [--batch <id>] [--dry-run] [--wait] [--yes]`:
 * a first pass checks every row and prints the plan; a second pass enqueues the valid new rows
 * in chunks (after a y/N confirmation on a terminal, unless --yes); --wait then follows the
 * batch until every ticket has ended. The file is streamed twice; memory holds TicketIds only.
 */
import { access, constants, stat } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { App } from '../app.js';
import type { Config } from '../config.js';
import { callbackPolicyOf } from '../webhooks/allowlist.js';
import type { TicketState } from '../domain/ticket.js';
import { loadCliConfig, withApp, type CliIo } from './cli-context.js';
import { enqueueRows, type EnqueueTally } from './enqueue-rows.js';
import { enqueueExitCode, usageError, type ExitCode } from './exit-codes.js';
import { followBatch } from './follow-batch.js';
import { formatOf, readInputRows, type InputFormat } from './input-rows.js';
import { InvalidRowLog } from './invalid-rows.js';
import {
  estimateDuration,
  formatCounts,
  formatPlan,
  plural,
  validCount,
  type Plan,
} from './plan.js';
import { preflight } from './preflight.js';
import { startProgress } from './progress.js';
import type { RowCheckContext } from './row-check.js';

/** The options of `enqueue`. */
export interface EnqueueOptions {
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

/** `<file name>-<yyyymmddThhmmssZ>`, the file name reduced to safe characters. */
export function defaultBatchId(path: string, now: Date): string {
  const name =
    basename(path, extname(path))
      .replace(/[^A-Za-z0-9._-]+/g, '_')
      .slice(0, 64) || 'batch';
  return `${name}-${now.toISOString().replace(/[-:]|\.\d+/g, '')}`;
}

/** Runs `enqueue`; answers the exit code. */
export async function enqueueCommand(
  file: string,
  options: EnqueueOptions,
  io: CliIo,
): Promise<ExitCode> {
  const path = resolve(io.cwd, file);
  const format = formatOf(path);
  const size = await readableSize(path);
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
  return withApp(config, (app) =>
    new EnqueueRun(app, config, io, { path, format, size, batchId, options }).run(),
  );
}

interface RunSpec {
  path: string;
  format: InputFormat;
  size: number;
  batchId: string;
  options: EnqueueOptions;
}

class EnqueueRun {
  readonly #ctx: RowCheckContext;
  readonly #log: InvalidRowLog;

  constructor(
    private readonly app: App,
    private readonly config: Config,
    private readonly io: CliIo,
    private readonly spec: RunSpec,
  ) {
    this.#ctx = {
      biz: config.cloudauth.biz,
      baseDir: dirname(spec.path),
      batchId: spec.batchId,
      imageLimits: { maxPixels: config.images.maxPixels, maxSidePx: config.images.maxSidePx },
      callbackPolicy: callbackPolicyOf(config),
    };
    this.#log = new InvalidRowLog(spec.path, io.cwd);
  }

  async run(): Promise<ExitCode> {
    const { options } = this.spec;
    const out = this.io.stdout;
    await this.#log.removeStale();
    try {
      const { plan, validNew } = await this.#preflight();
      const q = this.config.queue;
      out.write(formatPlan(plan, estimateDuration(plan.validNew, q.qps, q.qpsHeadroom)));
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
      }
      let final: Record<TicketState, number> | undefined;
      if (options.wait) {
        final = await followBatch(this.app.store, this.spec.batchId, {
          stream: this.io.stderr,
          tty: this.io.stderr.isTTY === true,
        });
        out.write(`Final: ${formatCounts(final)}\n`);
      }
      return enqueueExitCode({ invalid, ...(final === undefined ? {} : { final }) });
    } finally {
      await this.#log.close();
    }
  }

  async #preflight(): Promise<{ plan: Plan; validNew: Set<string> }> {
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
      store: this.app.store,
      ctx: this.#ctx,
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
      alreadyKnown: result.alreadyKnown,
      invalid: this.#log.count,
      invalidRows: this.#log.kept,
      invalidLog: this.#log.path,
    };
    return { plan, validNew: result.validNew };
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

  async #enqueue(validNew: Set<string>): Promise<EnqueueTally> {
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
      return await enqueueRows(readInputRows(path, format, options.biz).rows, {
        intake: this.app.intake,
        ctx: this.#ctx,
        log: this.#log,
        validNew,
        onChunk: (n) => progress.update(n),
      });
    } finally {
      // also when Redis is out of memory (exit 7): the bar ends before the message
      progress.stop();
    }
  }

  #summary(tally: EnqueueTally, invalid: number): string {
    const lines = [
      `Enqueued ${plural(tally.enqueued, 'ticket')} into batch ${this.spec.batchId}.`,
      `  enqueued          ${tally.enqueued}`,
    ];
    if (tally.alreadyKnown > 0) {
      lines.push(`  enqueued meanwhile by another producer ${tally.alreadyKnown}`);
    }
    if (tally.invalid > 0) lines.push(`  invalid since the plan ${tally.invalid}`);
    if (tally.missing > 0) {
      lines.push(`  not found on the second read (the file changed) ${tally.missing}`);
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
