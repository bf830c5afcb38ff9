/**
 * The generated parts of the reference pages under docs/reference/, each made from what the code
 * declares, so that the pages cannot drift from it: the error registry ({@link ERROR_CODES}), the
 * metrics registry (the {@link Telemetry} of a process, built without Redis, queues or Node's
 * process metrics) and the HTTP API (the committed OpenAPI document, itself checked against what
 * the server serves). Each part sits between `<!-- <name>:start -->` and `<!-- <name>:end -->`
 * markers in its page, so the prose around it is written by hand. `npm run docs`
 * (src/config-docs.ts) rewrites them; test/unit/generated-docs.test.ts fails when a page differs
 * from what this module renders.
 */
import { ERROR_CODES } from './errors.js';
import { Telemetry } from './ops/metrics.js';

/** A markdown table cell: pipes escaped, on one line. */
export function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** The markers of the generated part `name`. */
export function markers(name: string): { start: string; end: string } {
  return { start: `<!-- ${name}:start -->`, end: `<!-- ${name}:end -->` };
}

/** `page` with the generated part `name` replaced by `content` (throws when a marker is missing). */
export function withGenerated(
  page: string,
  name: string,
  content: string,
  where = 'the page',
): string {
  const { start, end } = markers(name);
  const from = page.indexOf(start);
  const to = page.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${where} lacks ${start} … ${end}`);
  return `${page.slice(0, from + start.length)}\n${content}\n${page.slice(to)}`;
}

/** The error registry as a table: code, retryable, fault, what it means. */
export function renderErrorTable(): string {
  const rows = Object.entries(ERROR_CODES).map(
    ([code, e]) => `| \`${code}\` | ${e.retryable ? 'yes' : 'no'} | ${e.fault} | ${cell(e.doc)} |`,
  );
  return ['| Code | Retryable | Fault | Meaning |', '| --- | --- | --- | --- |', ...rows].join(
    '\n',
  );
}

/** prom-client keeps a metric's label names on the object; its types do not declare them. */
interface RegisteredMetric {
  name: string;
  help: string;
  type: string;
  labelNames?: readonly string[];
}

/**
 * The orchestrator's own metrics as a table, in the order they are registered: name, type,
 * labels, help. Node's process metrics (prom-client's defaults) are left out: they are
 * prom-client's, not ours.
 */
export function renderMetricTable(): string {
  const telemetry = new Telemetry({ defaultMetrics: false });
  const metrics = telemetry.registry.getMetricsAsArray() as unknown as RegisteredMetric[];
  const rows = metrics.map((m) => {
    const labels = (m.labelNames ?? []).map((l) => `\`${l}\``).join(', ') || '—';
    return `| \`${m.name}\` | ${m.type} | ${labels} | ${cell(m.help)} |`;
  });
  return ['| Metric | Type | Labels | Help |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/** The parts of an OpenAPI 3.1 document the HTTP API page shows. */
export interface OpenApiDocument {
  tags?: { name: string; description?: string }[];
  paths: Record<string, Record<string, unknown>>;
  webhooks?: Record<string, Record<string, unknown>>;
  components?: { parameters?: Record<string, OpenApiParameter> };
}

interface OpenApiParameter {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
}

interface OpenApiResponse {
  description?: string;
  content?: Record<string, { examples?: Record<string, { value?: { code?: unknown } }> }>;
}

interface OpenApiOperation {
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Record<string, unknown>[];
  parameters?: (OpenApiParameter | { $ref: string })[];
  responses?: Record<string, OpenApiResponse>;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** Who may call an operation, from its `security` (the document's default: the bearer token). */
function access(security: Record<string, unknown>[] | undefined): string {
  if (security === undefined) return 'bearer token (`Authorization: Bearer <token>`)';
  if (security.length === 0) return 'none';
  if (security.some((s) => Object.keys(s).length === 0)) {
    return 'none by default; the bearer token with `METRICS_AUTH=true`';
  }
  return 'bearer token (`Authorization: Bearer <token>`)';
}

/** The problem codes a response's examples carry (`STORE_UNAVAILABLE`, …), if any. */
function problemCodes(response: OpenApiResponse): string[] {
  const codes = new Set<string>();
  for (const media of Object.values(response.content ?? {})) {
    for (const example of Object.values(media.examples ?? {})) {
      const code = example.value?.code;
      if (typeof code === 'string') codes.add(code);
    }
  }
  return [...codes];
}

function parameterOf(
  doc: OpenApiDocument,
  p: OpenApiParameter | { $ref: string },
): OpenApiParameter | undefined {
  if (!('$ref' in p)) return p;
  const name = p.$ref.replace('#/components/parameters/', '');
  return doc.components?.parameters?.[name];
}

/** One operation: heading, summary, access, parameters, responses. */
function renderOperation(doc: OpenApiDocument, method: string, path: string, op: OpenApiOperation) {
  const lines = [`### \`${method.toUpperCase()} ${path}\``, ''];
  if (op.summary) lines.push(op.summary, '');
  if (op.description && op.description !== op.summary) lines.push(op.description, '');
  lines.push(`Authentication: ${access(op.security)}.`, '');
  const params = (op.parameters ?? [])
    .map((p) => parameterOf(doc, p))
    .filter((p): p is OpenApiParameter => p !== undefined);
  if (params.length > 0) {
    lines.push('| Parameter | In | Required | Description |', '| --- | --- | --- | --- |');
    for (const p of params) {
      lines.push(
        `| \`${p.name}\` | ${p.in} | ${p.required === true ? 'yes' : 'no'} | ${cell(p.description ?? '')} |`,
      );
    }
    lines.push('');
  }
  lines.push('| Status | Meaning | Problem codes |', '| --- | --- | --- |');
  for (const [status, response] of Object.entries(op.responses ?? {})) {
    const codes = problemCodes(response).map((c) => `\`${c}\``);
    lines.push(`| ${status} | ${cell(response.description ?? '')} | ${codes.join(', ') || '—'} |`);
  }
  lines.push('');
  return lines;
}

/**
 * The HTTP API's operations, grouped by tag in the document's order (method, path, summary,
 * access, parameters, responses), then the webhook events the document describes.
 */
export function renderHttpApi(doc: OpenApiDocument): string {
  const operations: { method: string; path: string; op: OpenApiOperation }[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method] as OpenApiOperation | undefined;
      if (op !== undefined) operations.push({ method, path, op });
    }
  }
  const tags = (doc.tags ?? []).map((t) => t.name);
  const lines: string[] = [];
  for (const tag of tags) {
    const ofTag = operations.filter((o) => (o.op.tags?.[0] ?? '') === tag);
    if (ofTag.length === 0) continue;
    lines.push(`## ${tag}`, '');
    const description = doc.tags?.find((t) => t.name === tag)?.description;
    if (description) lines.push(description, '');
    for (const o of ofTag) lines.push(...renderOperation(doc, o.method, o.path, o.op));
  }
  const untagged = operations.filter((o) => !tags.includes(o.op.tags?.[0] ?? ''));
  if (untagged.length > 0) {
    lines.push('## Other', '');
    for (const o of untagged) lines.push(...renderOperation(doc, o.method, o.path, o.op));
  }
  const webhooks = Object.entries(doc.webhooks ?? {});
  if (webhooks.length > 0) {
    lines.push('## Webhook events', '');
    const description = doc.tags?.find((t) => t.name === 'Webhooks')?.description;
    if (description) lines.push(description, '');
    lines.push('| Event | Summary | Description |', '| --- | --- | --- |');
    for (const [name, item] of webhooks) {
      const op = (item.post ?? Object.values(item)[0]) as OpenApiOperation | undefined;
      lines.push(`| \`${name}\` | ${cell(op?.summary ?? '')} | ${cell(op?.description ?? '')} |`);
    }
    lines.push('');
  }
  return lines.join('\n').trimEnd();
}
