/**
 * The face photo of a ContrastFaceVerify (spec §6): exactly one of `FaceContrastPicture` (Base64),
 * `FaceContrastPictureUrl`, `OssBucketName` + `OssObjectName`, or the `CertifyId` of an earlier
 * passed verification of the same scene. Two sources → Code 420, none → 400, over 1 MB → 421, not
 * readable or not a JPEG/PNG/BMP → 419, an earlier CertifyId not passed → 423. URLs are never
 * fetched (the emulator stays on loopback) and OSS objects are read only from an attached OSS
 * emulator; both then count as readable, as in the 2018 actions. Dimensions are not checked.
 */
import { createHash } from 'node:crypto';
import { sniffImageType } from '../../domain/binding.js';
import { FaceVerifyRefusalError } from './face-verify-codes.js';
import type { ImageFact } from './image-facts.js';
import type { OssReader } from './material-links.js';

/** "< 1 MB" (spec §6), read as 1 MiB of decoded bytes. */
export const FACE_PHOTO_LIMIT = 1024 * 1024;

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export interface ContrastPhoto {
  /** What the verdict's hash falls back on when the bytes were not read. */
  reference: string;
  fact: ImageFact;
}

export interface PhotoSources {
  readOss: OssReader | undefined;
  /** The face seed of an earlier passed verification of this scene, else undefined. */
  earlierFace: (certifyId: string) => string | undefined;
}

function present(params: Record<string, string>, name: string): boolean {
  return (params[name] ?? '') !== '';
}

function factOf(bytes: Buffer, field: string): ImageFact {
  if (bytes.length > FACE_PHOTO_LIMIT) throw new FaceVerifyRefusalError('421', field);
  if (sniffImageType(bytes) === undefined) throw new FaceVerifyRefusalError('419', field);
  return { state: 'ok', digest: createHash('sha256').update(bytes).digest('hex') };
}

export async function readContrastPhoto(
  params: Record<string, string>,
  sources: PhotoSources,
): Promise<ContrastPhoto> {
  const given = [
    present(params, 'FaceContrastPicture'),
    present(params, 'FaceContrastPictureUrl'),
    present(params, 'OssBucketName') || present(params, 'OssObjectName'),
    present(params, 'CertifyId'),
  ].filter(Boolean).length;
  if (given > 1) throw new FaceVerifyRefusalError('420', 'FaceContrastPicture');
  if (given === 0) throw new FaceVerifyRefusalError('400', 'FaceContrastPicture');

  const picture = params.FaceContrastPicture;
  if (picture !== undefined && picture !== '') {
    if (picture.length % 4 !== 0 || !BASE64.test(picture)) {
      throw new FaceVerifyRefusalError('419', 'FaceContrastPicture');
    }
    const fact = factOf(Buffer.from(picture, 'base64'), 'FaceContrastPicture');
    return { reference: 'base64', fact };
  }
  const url = params.FaceContrastPictureUrl;
  if (url !== undefined && url !== '') {
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
      throw new FaceVerifyRefusalError('401', 'FaceContrastPictureUrl');
    }
    return { reference: url, fact: { state: 'unchecked' } };
  }
  const certifyId = params.CertifyId;
  if (certifyId !== undefined && certifyId !== '') {
    const seed = sources.earlierFace(certifyId);
    if (seed === undefined) throw new FaceVerifyRefusalError('423', 'CertifyId');
    return { reference: seed, fact: { state: 'ok', digest: seed } };
  }
  return readOssPhoto(params, sources.readOss);
}

async function readOssPhoto(
  params: Record<string, string>,
  readOss: OssReader | undefined,
): Promise<ContrastPhoto> {
  const bucket = params.OssBucketName ?? '';
  const object = params.OssObjectName ?? '';
  if (bucket === '') throw new FaceVerifyRefusalError('400', 'OssBucketName');
  if (object === '') throw new FaceVerifyRefusalError('400', 'OssObjectName');
  const reference = `oss://${bucket}:${object}`;
  if (readOss === undefined) return { reference, fact: { state: 'unchecked' } };
  const bytes = await readOss(bucket, object);
  if (bytes === undefined) throw new FaceVerifyRefusalError('419', 'OssObjectName');
  return { reference, fact: factOf(bytes, 'OssObjectName') };
}
