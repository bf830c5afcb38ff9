/**
 * How far V8 lets its heap grow during the batch commands (`enqueue`, `report`): to 50% over what
 * a full collection leaves alive, rather than V8's default, which on a machine with memory to
 * spare is up to four times it.
 *
 * Why: these commands stream, and what they keep alive stays about the same from the 10,000th row
 * to the 100,000th (60–70 MB after each full collection, the loaded code included), but they
 * allocate fast, and V8 sizes its old space from its speed: the longer the file, the more room it
 * takes. Measured on the bench's files (`npm run bench -- --only intake`, 2 cores): peak RSS 280 MB
 * at 10,000 rows and 390 MB at 100,000 for a CSV, 275 and 440 MB for a workbook; with the growth at
 * 50%, 225 and 250 MB, 245 and 270 MB, in the same time (more frequent full collections of a small
 * live set cost little). `--max-old-space-size=384` flattens it as well but is a cap: a file whose
 * TicketIds need more memory would fail. `--optimize-for-size` flattens it too, at 2.7 times the
 * time. No cap is set here. `--heap-growing-percent` is a V8 flag that V8 reads at every full
 * collection, so setting it once the process runs takes effect; node refuses it in NODE_OPTIONS,
 * but one given to node itself (`node --heap-growing-percent=100 …/cloudauth-orchestrator.js`) wins.
 */
import { setFlagsFromString } from 'node:v8';

/** The batch commands' heap growth over the live heap, in percent. */
export const BATCH_HEAP_GROWING_PERCENT = 50;

/**
 * Sets V8's heap growth for a batch command unless node was started with its own; answers whether
 * it set it.
 */
export function boundHeapGrowth(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((arg) => /^--heap[-_]growing[-_]percent(=|$)/.test(arg))) return false;
  setFlagsFromString(`--heap-growing-percent=${BATCH_HEAP_GROWING_PERCENT}`);
  return true;
}
