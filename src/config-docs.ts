/**
 * `npm run docs`: rewrites the generated parts of the reference pages under docs/reference/ from
 * what the code declares, between their markers:
 * - docs/reference/configuration.md: the configuration table, made from the declarations in
 *   config.ts ({@link SETTINGS}, one row per key in their order);
 * - docs/reference/errors.md: the error registry (src/errors.ts);
 * - docs/reference/metrics.md: the metrics registry (src/ops/metrics.ts);
 * - docs/reference/http-api.md: the HTTP API, from the committed openapi/openapi.json.
 * test/unit/generated-docs.test.ts fails when a page differs from what {@link renderGeneratedPages}
 * makes of it (run `npm run docs`). The renderers of the last three are in reference-docs.ts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeConfig } from './config.js';
import {
  cell,
  markers,
  renderErrorTable,
  renderHttpApi,
  renderMetricTable,
  withGenerated,
  type OpenApiDocument,
} from './reference-docs.js';

export const TABLE_START = markers('config-table').start;
export const TABLE_END = markers('config-table').end;

/** The page that holds the configuration table, relative to the repository's root. */
export const CONFIG_PAGE = 'docs/reference/configuration.md';

export function renderConfigTable(): string {
  const rows = describeConfig().map(
    (r) =>
      `| \`${r.name}\` | ${r.default === '(unset)' ? '(unset)' : `\`${cell(r.default)}\``} | ${cell(r.description)} |`,
  );
  return ['| Variable | Default | Meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

/** The page text with its configuration table section replaced. */
export function withConfigTable(page: string): string {
  return withGenerated(page, 'config-table', renderConfigTable(), CONFIG_PAGE);
}

/** One generated page: where it is, and what it should hold given what it holds now. */
export interface GeneratedPage {
  /** Relative to the repository's root. */
  path: string;
  render(current: string): string;
}

/** Every page with generated parts; `root` is the repository's root (a file: URL). */
export function generatedPages(root: URL): GeneratedPage[] {
  const openapi = () =>
    JSON.parse(readFileSync(new URL('openapi/openapi.json', root), 'utf8')) as OpenApiDocument;
  return [
    { path: CONFIG_PAGE, render: withConfigTable },
    {
      path: 'docs/reference/errors.md',
      render: (page) => withGenerated(page, 'error-table', renderErrorTable(), 'errors.md'),
    },
    {
      path: 'docs/reference/metrics.md',
      render: (page) => withGenerated(page, 'metric-table', renderMetricTable(), 'metrics.md'),
    },
    {
      path: 'docs/reference/http-api.md',
      render: (page) => withGenerated(page, 'http-api', renderHttpApi(openapi()), 'http-api.md'),
    },
  ];
}

/** Each generated page's path, its text now and the text it should have. */
export function renderGeneratedPages(
  root: URL,
): { path: string; current: string; expected: string }[] {
  return generatedPages(root).map((p) => {
    const current = readFileSync(new URL(p.path, root), 'utf8');
    return { path: p.path, current, expected: p.render(current) };
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = new URL('..', import.meta.url);
  for (const page of renderGeneratedPages(root)) {
    if (page.current !== page.expected) {
      writeFileSync(new URL(page.path, root), page.expected);
      process.stdout.write(`wrote ${page.path}\n`);
    } else {
      process.stdout.write(`${page.path} is up to date\n`);
    }
  }
}
