/**
 * What the emulator can tell about a submission's images before it judges: `base64://` bytes
 * are decoded, `oss://` objects are read from the attached OSS emulator, and each is found
 * readable (with a digest of its bytes), missing, or not an image. `http(s)://` images and `oss://`
 * ones without an attached OSS emulator are not fetched and count as readable.
 */
import { createHash } from 'node:crypto';
import { sniffImageType } from '../../domain/binding.js';
import { IMAGE_KEYS } from './materials.js';
import type { OssReader } from './material-links.js';

export type ImageFact =
  | { state: 'ok'; digest: string }
  | { state: 'unchecked' }
  | { state: 'missing' }
  | { state: 'not_image' };

export async function imageFacts(
  materials: Readonly<Record<string, string>>,
  readOss: OssReader | undefined,
): Promise<Record<string, ImageFact>> {
  const facts: Record<string, ImageFact> = {};
  for (const [field, value] of Object.entries(materials)) {
    if (!IMAGE_KEYS.has(field)) continue;
    let bytes: Buffer | undefined;
    if (value.startsWith('base64://')) bytes = Buffer.from(value.slice(9), 'base64');
    else if (value.startsWith('oss://') && readOss) {
      const [bucket = '', ...key] = value.slice(6).split(':');
      bytes = await readOss(bucket, key.join(':'));
      if (bytes === undefined) {
        facts[field] = { state: 'missing' };
        continue;
      }
    } else {
      facts[field] = { state: 'unchecked' };
      continue;
    }
    facts[field] =
      sniffImageType(bytes) === undefined
        ? { state: 'not_image' }
        : { state: 'ok', digest: createHash('sha256').update(bytes).digest('hex') };
  }
  return facts;
}
