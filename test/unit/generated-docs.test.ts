/**
 * The generated reference stays generated: the configuration table, the error registry, the
 * metrics list and the HTTP API pages under docs/reference/ hold exactly what `npm run docs`
 * (src/config-docs.ts) makes of the code and the committed OpenAPI document.
 */
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderGeneratedPages } from '../../src/config-docs.js';
import { ERROR_CODES } from '../../src/errors.js';
import { renderHttpApi, renderMetricTable, withGenerated } from '../../src/reference-docs.js';
import { REPO_ROOT } from '../../testkit/processes.js';

const root = pathToFileURL(`${REPO_ROOT}/`);
const pages = renderGeneratedPages(root);

describe('the generated reference pages', () => {
  it('are the four pages with generated parts', () => {
    expect(pages.map((p) => p.path)).toEqual([
      'docs/reference/configuration.md',
      'docs/reference/errors.md',
      'docs/reference/metrics.md',
      'docs/reference/http-api.md',
    ]);
  });

  it.each(pages.map((p) => [p.path, p] as const))(
    '%s is what `npm run docs` makes of the code',
    (path, page) => {
      expect(
        page.current === page.expected,
        `${path} differs from what the code produces: run \`npm run docs\``,
      ).toBe(true);
    },
  );

  it('list every error code, every metric and every operation', () => {
    const text = (path: string) => pages.find((p) => p.path === path)?.current ?? '';
    for (const code of Object.keys(ERROR_CODES)) {
      expect(text('docs/reference/errors.md')).toContain(`| \`${code}\` |`);
    }
    expect(renderMetricTable()).toContain(
      '`cloudauth_orchestrator_provider_calls_total` | counter',
    );
    expect(text('docs/reference/metrics.md')).toContain('cloudauth_orchestrator_tickets');
    expect(text('docs/reference/http-api.md')).toContain('### `POST /v1/tickets`');
    expect(text('docs/reference/http-api.md')).toContain('| `ticket.passed` |');
  });

  it('replace only what lies between their markers, and refuse a page without them', () => {
    const page = 'intro\n<!-- x:start -->\nold\n<!-- x:end -->\noutro\n';
    expect(withGenerated(page, 'x', 'new')).toBe(
      'intro\n<!-- x:start -->\nnew\n<!-- x:end -->\noutro\n',
    );
    expect(() => withGenerated('no markers', 'x', 'new', 'p.md')).toThrow(
      'p.md lacks <!-- x:start -->',
    );
    expect(renderHttpApi({ paths: {} })).toBe('');
  });
});
