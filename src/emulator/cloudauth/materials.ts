/**
 * Binding and Material parsing as the Cloudauth emulator judges them: JSON objects, image values
 * as `http(s)://`, `oss://bucket:path` or `base64://` (POST only, no `data:` header), 2 MB per image.
 */
import { cloudauthErrors } from './cloudauth-errors.js';

/** Keys whose values are images. */
export const IMAGE_KEYS = new Set([
  'FacePic',
  'IdCardFrontPic',
  'IdCardBackPic',
  'FaceRetainedPic',
  'IDPic',
]);
/** MaterialType values accepted by SubmitMaterials / SubmitVerification (spec §1.4). */
export const MATERIAL_TYPES = new Set([...IMAGE_KEYS, 'Name', 'IdentificationNumber', 'Mobile']);

/** Largest decoded image, in bytes. */
export const IMAGE_LIMIT = 2 * 1024 * 1024;

const OSS_REF = /^oss:\/\/[a-z0-9][a-z0-9-]{1,61}[a-z0-9]:[^\s]+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Parses an optional JSON-object parameter; undefined when absent. */
export function parseJsonObject(
  field: string,
  raw: string | undefined,
): Record<string, unknown> | undefined {
  if (raw === undefined || raw === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw cloudauthErrors.jsonFormat(field);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw cloudauthErrors.jsonFormat(field);
  }
  return value as Record<string, unknown>;
}

/** Checks one image value; `field` names it in the error. */
export function checkImageValue(field: string, value: string, method: 'GET' | 'POST'): void {
  if (/^https?:\/\/[^\s/]+/i.test(value)) return;
  if (value.startsWith('oss://')) {
    if (!OSS_REF.test(value))
      throw cloudauthErrors.imagePattern(field, 'expected oss://bucket:path');
    return;
  }
  if (value.startsWith('base64://')) {
    if (method !== 'POST') {
      throw cloudauthErrors.imagePattern(field, 'base64:// images must be sent with POST');
    }
    const data = value.slice('base64://'.length);
    if (data.startsWith('data:')) {
      throw cloudauthErrors.imagePattern(field, 'base64:// must not carry a data: header');
    }
    if (data.length === 0 || data.length % 4 !== 0 || !BASE64.test(data)) {
      throw cloudauthErrors.imagePattern(field, 'base64:// data is not valid base64');
    }
    if (Math.floor((data.length * 3) / 4) - (data.match(/=+$/)?.[0].length ?? 0) > IMAGE_LIMIT) {
      throw cloudauthErrors.imageTooLarge(field, IMAGE_LIMIT);
    }
    return;
  }
  throw cloudauthErrors.imagePattern(
    field,
    'expected http(s)://, oss://bucket:path or base64:// (local paths are not supported)',
  );
}

/** Validates a Binding object: strings only, image values checked. */
export function checkBinding(
  binding: Record<string, unknown>,
  method: 'GET' | 'POST',
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(binding)) {
    if (v === null || v === undefined) continue;
    if (typeof v !== 'string' && typeof v !== 'number')
      throw cloudauthErrors.jsonFormat(`Binding.${k}`);
    const s = String(v);
    if (IMAGE_KEYS.has(k)) checkImageValue(`Binding.${k}`, s, method);
    out[k] = s;
  }
  return out;
}

/** Collects `Material.<n>.MaterialType` / `Material.<n>.Value` into a type → value record. */
export function parseMaterials(
  params: Record<string, string>,
  method: 'GET' | 'POST',
): Record<string, string> {
  const indexes = new Set<string>();
  for (const k of Object.keys(params)) {
    const m = /^Material\.(\d+)\.(MaterialType|Value)$/.exec(k);
    if (m?.[1] !== undefined) indexes.add(m[1]);
  }
  if (indexes.size === 0) throw cloudauthErrors.paramMissing('Material');
  const out: Record<string, string> = {};
  for (const n of [...indexes].sort((a, b) => Number(a) - Number(b))) {
    const type = params[`Material.${n}.MaterialType`];
    const value = params[`Material.${n}.Value`];
    if (!type) throw cloudauthErrors.paramMissing(`Material.${n}.MaterialType`);
    if (value === undefined || value === '')
      throw cloudauthErrors.paramMissing(`Material.${n}.Value`);
    if (!MATERIAL_TYPES.has(type)) throw cloudauthErrors.materialType(`Material.${n}.MaterialType`);
    if (IMAGE_KEYS.has(type)) checkImageValue(`Material.${n}.Value`, value, method);
    out[type] = value;
  }
  return out;
}
