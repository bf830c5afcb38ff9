/**
 * Intake's half of the material staging store: every image given as bytes or as a local file is
 * staged (encrypted, under its ticket and keyed digest) before the ticket is created, and the
 * binding the ticket keeps holds only `staged` references. So Redis never holds photo bytes, and a
 * worker on any host reads them from the store instead of from a path only the CLI's machine has.
 *
 * What is staged is the image as given, once its header passed the checks (type, pixel limits):
 * fitting it under Cloudauth's 2 MB (a decode, the expensive part) stays with the workers, which
 * are the processes scaled out for it, so that intake answers quickly and never decodes.
 * `http(s)://` and `oss://` references pass through unchanged.
 */
import type { ImageField, StoredMaterialSource, TicketBinding } from '../domain/binding.js';
import { IMAGE_FIELDS } from '../domain/binding.js';
import { checkSource } from '../adapters/oss/image-fit.js';
import type { ImageLimits } from '../adapters/oss/image-header.js';
import { readMaterialFile } from '../adapters/oss/material-loader.js';
import type { MaterialStagingStore } from '../adapters/staging/staging-store.js';
import type { TicketInput } from './ticket-intake.js';

/** Tickets one call of {@link stageAll} stages at once. */
export const STAGING_CONCURRENCY = 4;
/**
 * Tickets a process stages at once over all its calls ({@link StagingGate}): bounds the copies of
 * photos (decoded from base64, sealed) that concurrent batch requests hold beside their bodies.
 */
export const PROCESS_STAGING_CONCURRENCY = 8;

/**
 * A counting semaphore, our own: a dozen lines, where a library (p-limit and the like) would be a
 * dependency for one `acquire`/`release` pair; waiters are served in arrival order.
 */
export class StagingGate {
  readonly #max: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(max = PROCESS_STAGING_CONCURRENCY) {
    this.#max = max;
  }

  /** Runs `f` once fewer than `max` runs are in flight. */
  async run<T>(f: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#max) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await f();
    } finally {
      const next = this.#waiting.shift();
      // the slot passes to the next waiter as it is, or is given back
      if (next !== undefined) next();
      else this.#running--;
    }
  }
}

/** Whether `source` is bytes the staging store must keep (as opposed to a reference). */
export function needsStaging(source: StoredMaterialSource): boolean {
  return source.kind === 'bytes' || source.kind === 'file';
}

/**
 * `input` with each of its byte sources staged. A file is read (at most `SOURCE_LIMIT_BYTES`) and
 * its header checked again (it may have changed since the CLI's check); errors name the field.
 * @throws ValidationError a file that cannot be read or is no longer an acceptable image
 * @throws StagingUnavailableError the store refused or failed a write
 */
export async function stageInput(
  staging: MaterialStagingStore,
  input: TicketInput,
  limits: ImageLimits,
): Promise<TicketInput> {
  const materials: TicketBinding['materials'] = {};
  for (const field of IMAGE_FIELDS) {
    const source = input.binding.materials[field];
    if (source === undefined) continue;
    materials[field] = await stageSource(staging, input.ticketId, field, source, limits);
  }
  return { ...input, binding: { ...input.binding, materials } };
}

async function stageSource(
  staging: MaterialStagingStore,
  ticketId: string,
  field: ImageField,
  source: StoredMaterialSource,
  limits: ImageLimits,
): Promise<StoredMaterialSource> {
  let bytes: Buffer;
  if (source.kind === 'bytes') {
    // its header was checked when the request was parsed
    bytes = Buffer.from(source.base64, 'base64');
  } else if (source.kind === 'file') {
    const name = `Binding.${field}`;
    bytes = await readMaterialFile(name, source.path);
    checkSource(name, bytes, limits);
  } else {
    return source;
  }
  const ref = await staging.put(ticketId, bytes);
  return { kind: 'staged', digest: ref.digest, bytes: ref.bytes };
}

/**
 * Every input staged, {@link STAGING_CONCURRENCY} tickets at a time and within the process's
 * `gate`, in order. The first failure
 * is thrown once the tickets in flight have settled (no write is left running behind the caller).
 */
export async function stageAll(
  staging: MaterialStagingStore,
  inputs: readonly TicketInput[],
  limits: ImageLimits,
  gate: StagingGate = new StagingGate(),
): Promise<TicketInput[]> {
  const out: TicketInput[] = new Array<TicketInput>(inputs.length);
  let next = 0;
  let failure: { err: unknown } | undefined;
  const lane = async () => {
    while (failure === undefined && next < inputs.length) {
      const i = next++;
      const input = inputs[i] as TicketInput;
      const staged = Object.values(input.binding.materials).some(needsStaging);
      try {
        out[i] = staged ? await gate.run(() => stageInput(staging, input, limits)) : input;
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(STAGING_CONCURRENCY, inputs.length) }, lane));
  if (failure !== undefined) throw failure.err;
  return out;
}
