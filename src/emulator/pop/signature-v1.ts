/**
 * Alibaba Cloud POP RPC signature, SignatureVersion 1.0 (HMAC-SHA1), as the spec (§2) and
 * pop-core's lib/rpc.js define it. Used by the emulator to verify, and by tests to sign requests
 * that pop-core cannot make (Format=XML).
 */
import { createHmac } from 'node:crypto';

/** RFC 3986 percent-encoding as POP wants it: space → %20, and !'()* encoded too. */
export function percentEncode(s: string): string {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Sorted by raw name (code-unit order), `enc(k)=enc(v)` joined with `&`. `Signature` excluded. */
export function canonicalizeV1(params: Record<string, string>): string {
  return Object.keys(params)
    .filter((k) => k !== 'Signature')
    .sort()
    .map((k) => `${percentEncode(k)}=${percentEncode(params[k] ?? '')}`)
    .join('&');
}

export function stringToSignV1(method: string, params: Record<string, string>): string {
  return `${method.toUpperCase()}&${percentEncode('/')}&${percentEncode(canonicalizeV1(params))}`;
}

/** Base64(HMAC-SHA1(secret + "&", StringToSign)). */
export function signV1(secret: string, method: string, params: Record<string, string>): string {
  return createHmac('sha1', `${secret}&`).update(stringToSignV1(method, params)).digest('base64');
}
