/** Serializes a POP response body as the gateway's XML: one element per field, arrays repeated. */
export function toXml(root: string, body: Record<string, unknown>): string {
  return `<?xml version="1.0" encoding="UTF-8"?><${root}>${fields(body)}</${root}>`;
}

function fields(obj: Record<string, unknown>): string {
  return Object.entries(obj)
    .map(([k, v]) => element(k, v))
    .join('');
}

function element(name: string, value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map((v) => element(name, v)).join('');
  if (typeof value === 'object') {
    return `<${name}>${fields(value as Record<string, unknown>)}</${name}>`;
  }
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return `<${name}>${escapeXml(text)}</${name}>`;
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => XML_ENTITIES[c] ?? c);
}

const XML_ENTITIES: Record<string, string> = {
  '<': '&lt;',
  '>': '&gt;',
  '&': '&amp;',
  "'": '&apos;',
  '"': '&quot;',
};
