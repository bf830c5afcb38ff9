/**
 * The documentation's links hold: every relative link and `#anchor` in README.md and docs/**\/*.md
 * reaches a file of the repository and, into a markdown page, one of its headings (by the anchor
 * GitHub gives it); every external link is a well-formed http(s) URL (none is fetched: the tests
 * reach loopback only). And the README stays a five-minute read: at most 150 lines.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../testkit/processes.js';
import { docPages, parsePage, type Link, type ParsedPage } from '../support/markdown.js';

const pages = docPages();
const parsed = new Map<string, ParsedPage>(pages.map((p) => [p, parsePage(p)]));

/** What is wrong with `link`, or undefined when it holds. */
function brokenReason(link: Link): string | undefined {
  const { target } = link;
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
    if (target.startsWith('mailto:')) return undefined;
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      return 'not a well-formed URL';
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return `scheme ${url.protocol}`;
    if (!/^(localhost|127\.0\.0\.1|[a-z0-9-]+(\.[a-z0-9-]+)+)$/i.test(url.hostname)) {
      return `host ${url.hostname}`;
    }
    return undefined;
  }
  const hash = target.indexOf('#');
  const path = hash < 0 ? target : target.slice(0, hash);
  const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
  const file = path === '' ? link.page : normalize(join(dirname(link.page), decodeURI(path)));
  if (file.startsWith('..')) return 'leaves the repository';
  const absolute = join(REPO_ROOT, file);
  if (!existsSync(absolute)) return `${file} does not exist`;
  if (anchor === undefined) return undefined;
  if (!file.endsWith('.md') || statSync(absolute).isDirectory()) {
    return `an anchor into ${file}, which is not a markdown page`;
  }
  const page = parsed.get(file) ?? parsePage(relative(REPO_ROOT, absolute));
  const anchors = new Set([...page.headings.map((h) => h.anchor), ...page.extraAnchors]);
  return anchors.has(anchor) ? undefined : `${file} has no heading with the anchor #${anchor}`;
}

describe('the documentation', () => {
  it('has pages to check, each with links', () => {
    expect(pages).toContain('README.md');
    expect(pages.length).toBeGreaterThan(10);
    expect([...parsed.values()].every((p) => p.headings.length > 0)).toBe(true);
  });

  it.each(pages)('%s: every link resolves', (page) => {
    const links = parsed.get(page)?.links ?? [];
    const broken = links
      .map((link) => ({ link, reason: brokenReason(link) }))
      .filter((b) => b.reason !== undefined)
      .map((b) => `${b.link.page}:${b.link.line}: ${b.link.target}: ${b.reason ?? ''}`);
    expect(broken).toEqual([]);
  });

  it('every page under docs/ is reachable by links from the README', () => {
    const reached = new Set<string>(['README.md']);
    const queue = ['README.md'];
    for (let page = queue.shift(); page !== undefined; page = queue.shift()) {
      for (const { target } of parsed.get(page)?.links ?? []) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
        const file = normalize(join(dirname(page), decodeURI(target.split('#')[0] ?? '')));
        if (parsed.has(file) && !reached.has(file)) {
          reached.add(file);
          queue.push(file);
        }
      }
    }
    expect(pages.filter((p) => !reached.has(p))).toEqual([]);
  });

  it('the README is at most 150 lines', () => {
    const lines = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8').trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(150);
  });
});
