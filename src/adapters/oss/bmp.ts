/**
 * BMP to raw pixels, for sharp to encode. sharp's prebuilt libvips has no BMP loader, so a BMP is
 * decoded here with `bmp-ts` and always converted (to JPEG, in `image-fit.ts`) before upload:
 * whether Cloudauth's image checks take BMP is not certain from its documentation, and what we
 * upload is then always a JPEG or PNG, which it does take.
 *
 * `bmp-ts` is given only what its reader handles correctly, as `checkImageHeader` checked: 1, 4
 * (even width), 8, 16, 24 and 32 bits, uncompressed or with bit fields, bottom-up or top-down, the
 * pixel rows all present (so it never allocates for rows that are not there). It reads the pixels
 * right after the palette without looking at the file header's offset, and for a 16- or 32-bit
 * BI_RGB image takes the masks of a V4/V5 header even though they mean nothing there; the file is
 * therefore handed to it with the pixel rows moved up to where it reads them and, for BI_RGB, the
 * standard masks written in.
 *
 * bmp-ts runs in a worker thread (`bmp-decode.worker.js`), one per image: its loops take about
 * 0.8 s for 25 MP, which on the main thread would stall everything else (BullMQ's lock renewals
 * among them). Its output (4 bytes a pixel: 100 MB at 25 MP) comes back transferred, not copied,
 * and goes back to the thread when {@link DecodedBmp.release} is called, so that it is freed when
 * the thread ends instead of whenever the main thread's garbage collector gets to it: freed
 * buffers piling up is what took fifty 25 MP BMPs through two decode slots to 1 GB.
 */
import { Worker } from 'node:worker_threads';
import { ValidationError } from '../../errors.js';
import { BMP_COMPRESSION, type ImageHeader } from './image-header.js';

/** Decoded pixels, 8 bits per sample, rows top to bottom; 2 and 4 channels carry alpha last. */
export interface RawPixels {
  data: Buffer;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

/** The pixels of a BMP, held until {@link release} is called. */
export interface DecodedBmp extends RawPixels {
  channels: 3 | 4;
  /** Frees the pixels now; `data` must not be used after. Safe to call more than once. */
  release(): void;
}

const WORKER_URL = new URL('./bmp-decode.worker.js', import.meta.url);

type WorkerAnswer =
  { ok: true; pixels: ArrayBuffer; length: number; channels: 3 | 4 } | { ok: false };

/**
 * Decodes a BMP whose header passed `checkImageHeader`, in a worker thread. Rejects with a
 * {@link ValidationError} naming `field` when the decoder fails on it. Call `release()` on the
 * result when done with the pixels.
 */
export async function decodeBmp(
  field: string,
  bytes: Buffer,
  header: ImageHeader,
): Promise<DecodedBmp> {
  const layout = header.bmp;
  if (!layout) throw new Error('decodeBmp needs the checked layout of a BMP header');
  const { width, height } = header;
  const bmp = normalized(bytes, layout);
  const worker = new Worker(WORKER_URL, {
    // plain JavaScript: no TypeScript loader, nothing of this thread's options
    execArgv: [],
    workerData: { bmp, width, height, hasAlphaMask: layout.alphaMask !== 0 },
    transferList: [bmp],
  });
  let answer: WorkerAnswer;
  try {
    answer = await new Promise<WorkerAnswer>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) =>
        reject(new Error(`the BMP decoding thread exited (${code}) without an answer`)),
      );
    });
  } catch (err) {
    void worker.terminate();
    throw err;
  }
  if (!answer.ok) {
    void worker.terminate();
    throw new ValidationError(field, 'is a damaged or truncated BMP image');
  }
  const { pixels, length, channels } = answer;
  let released = false;
  return {
    data: Buffer.from(pixels, 0, length),
    width,
    height,
    channels,
    release() {
      if (released) return;
      released = true;
      // back to the thread (a transfer detaches it here), which ends and frees it
      worker.postMessage(pixels, [pixels]);
      void worker.terminate();
    },
  };
}

/** The header, masks and palette as bmp-ts reads them, then the pixel rows right after. */
function normalized(bytes: Buffer, layout: NonNullable<ImageHeader['bmp']>): ArrayBuffer {
  const { pixelsExpectedAt: at, pixelsAt, pixelBytes, headerSize } = layout;
  // its own ArrayBuffer, not a slice of the pool: it is transferred to the decoding thread
  const whole = new ArrayBuffer(at + pixelBytes);
  const out = Buffer.from(whole);
  bytes.copy(out, 0, 0, at);
  bytes.copy(out, at, pixelsAt, pixelsAt + pixelBytes);
  if (layout.compression === BMP_COMPRESSION.RGB && headerSize > 40) {
    const [red, green, blue] =
      layout.bitsPerPixel === 16 ? [0x7c00, 0x03e0, 0x001f] : [0xff0000, 0x00ff00, 0x0000ff];
    out.writeUInt32LE(red, 54);
    out.writeUInt32LE(green, 58);
    out.writeUInt32LE(blue, 62);
    if (headerSize > 52) out.writeUInt32LE(0, 66);
  }
  return whole;
}
