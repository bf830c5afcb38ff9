// @ts-check
/**
 * The BMP decoding thread of `bmp.ts`: one `worker_threads` Worker per image, so that bmp-ts's
 * per-pixel loops (about 0.8 s for 25 MP) never block the event loop, and so that what it allocates
 * is freed when the thread ends rather than whenever the main thread's garbage collector runs.
 *
 * Plain JavaScript with no import but bmp-ts, so that it starts without the TypeScript loader
 * (tsx in production, vitest in tests) and with nothing of the main thread's.
 *
 * In (workerData): `{ bmp, width, height, hasAlphaMask }`, `bmp` the file as `bmp.ts` normalized
 * it, transferred. Out (one message): `{ ok: true, pixels, length, channels }` with `pixels` the
 * ArrayBuffer that holds the first `length` bytes of RGB or RGBA pixels, transferred (no copy); or
 * `{ ok: false }` when bmp-ts failed on the file.
 */
import { Buffer } from 'node:buffer';
import { parentPort, workerData } from 'node:worker_threads';
import { decode } from 'bmp-ts';

const { bmp, width, height, hasAlphaMask } = workerData;
const port = parentPort;
if (!port) throw new Error('bmp-decode.worker.js runs as a worker thread only');

/** @type {Buffer | undefined} */
let data;
try {
  const image = decode(Buffer.from(bmp));
  data = image.data;
  if (image.width !== width || image.height !== height || data.length !== width * height * 4) {
    data = undefined;
  }
} catch {
  data = undefined;
}
if (!data) port.postMessage({ ok: false });
else {
  const { length, channels } = fromAbgr(data, width * height, hasAlphaMask);
  // bmp-ts allocates its output whole (Buffer.alloc): its ArrayBuffer starts at the pixels
  const whole = data.byteOffset === 0 && data.buffer.byteLength === data.length;
  const pixels = whole ? data.buffer : data.buffer.slice(data.byteOffset, data.byteOffset + length);
  port.postMessage({ ok: true, pixels, length, channels }, [pixels]);
  // Stay until the pixels come back (DecodedBmp.release): a transfer to a thread that has already
  // ended does not detach them there, and they would wait for the main thread's collector.
  port.once('message', () => port.close());
}

/**
 * bmp-ts writes every depth as A, B, G, R bytes (its RGBA option is not honoured by the 1-, 4- and
 * 8-bit readers, so it is not used). Reordered in place: RGB, or RGBA when the image has an alpha
 * mask and real transparency (an alpha channel of all zeros, as some writers leave it, is opaque).
 *
 * @param {Buffer} data
 * @param {number} pixels
 * @param {boolean} hasAlphaMask
 * @returns {{ length: number, channels: 3 | 4 }}
 */
function fromAbgr(data, pixels, hasAlphaMask) {
  let transparent = false;
  if (hasAlphaMask) {
    let anyVisible = false;
    let anyTranslucent = false;
    for (let i = 0; i < pixels && !(anyVisible && anyTranslucent); i++) {
      const a = data[4 * i] ?? 0;
      if (a !== 0) anyVisible = true;
      if (a !== 255) anyTranslucent = true;
    }
    transparent = anyVisible && anyTranslucent;
  }
  if (transparent) {
    for (let i = 0; i < pixels; i++) {
      const o = 4 * i;
      const a = data[o] ?? 0;
      const b = data[o + 1] ?? 0;
      data[o] = data[o + 3] ?? 0;
      data[o + 1] = data[o + 2] ?? 0;
      data[o + 2] = b;
      data[o + 3] = a;
    }
    return { length: pixels * 4, channels: 4 };
  }
  // pixel i is read before it is written, and written at 3i..3i+2, below 4(i+1) where the next
  // one starts: compacting forwards never overwrites a byte still to be read
  for (let i = 0; i < pixels; i++) {
    const o = 4 * i;
    const r = data[o + 3] ?? 0;
    const g = data[o + 2] ?? 0;
    const b = data[o + 1] ?? 0;
    data[3 * i] = r;
    data[3 * i + 1] = g;
    data[3 * i + 2] = b;
  }
  return { length: pixels * 3, channels: 3 };
}
