/**
 * The project's documentation as the docs tests read it: which pages there are (README.md and
 * docs/**\/*.md), and what a page holds that can break: its headings (with the anchors GitHub
 * gives them), its links, and its fenced code blocks with their info strings (the samples marked
 * `runnable`). A small line-based reader rather than a markdown library: the pages are ours, and
 * these three things are all the tests ask of them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from '../../testkit/processes.js';

/** Every documentation page, relative to the repository's root: README.md first, then docs/. */
export function docPages(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return walk(path);
      return name.endsWith('.md') ? [relative(REPO_ROOT, path)] : [];
    });
  return ['README.md', ...walk(join(REPO_ROOT, 'docs')).sort()];
}

/** A fenced code block. */
export interface CodeBlock {
  /** The page, relative to the repository's root. */
  page: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The info string's first word (`sh`, `ts`, `python`, …), or '' for none. */
  lang: string;
  /** The info string's other words: flags (`runnable`) and `key=value` attributes. */
  flags: Set<string>;
  attrs: Map<string, string>;
  code: string;
  /** From an `<!-- expect: REGEX -->` comment right after the block: what its output must match. */
  expect?: RegExp;
}

/** A link or image target. */
export interface Link {
  page: string;
  line: number;
  target: string;
}

/** A heading with its GitHub anchor. */
export interface Heading {
  line: number;
  text: string;
  anchor: string;
}

export interface ParsedPage {
  headings: Heading[];
  /** Anchors besides the headings': `<a id="…">` / `<a name="…">`. */
  extraAnchors: Set<string>;
  links: Link[];
  blocks: CodeBlock[];
}

/**
 * The anchor GitHub gives a heading: its text lower-cased, with everything but letters, marks,
 * digits, connector punctuation (`_`), spaces and hyphens dropped, and spaces turned to hyphens
 * (github-slugger's rule). Inline markup goes first: a link keeps its text, code its content.
 */
export function githubSlug(text: string): string {
  return headingText(text)
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

/** A heading's text as rendered (links reduced to their text, HTML tags dropped). */
function headingText(text: string): string {
  return text
    .trim()
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '');
}

const FENCE = /^( {0,3})(`{3,}|~{3,})\s*(.*)$/;

/** Reads one page (`page` relative to the repository's root). */
export function parsePage(page: string): ParsedPage {
  const lines = readFileSync(join(REPO_ROOT, page), 'utf8').split('\n');
  const headings: Heading[] = [];
  const extraAnchors = new Set<string>();
  const links: Link[] = [];
  const blocks: CodeBlock[] = [];
  const seen = new Map<string, number>();
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] ?? '';
    const fence = FENCE.exec(line);
    if (fence) {
      const marker = fence[2] ?? '```';
      const words = (fence[3] ?? '').trim().split(/\s+/).filter(Boolean);
      const start = i;
      const body: string[] = [];
      i++;
      while (i < lines.length && !(lines[i] ?? '').trim().startsWith(marker)) {
        body.push(lines[i] ?? '');
        i++;
      }
      i++; // the closing fence
      const block: CodeBlock = {
        page,
        line: start + 1,
        lang: words[0] ?? '',
        flags: new Set(words.slice(1).filter((w) => !w.includes('='))),
        attrs: new Map(
          words
            .slice(1)
            .filter((w) => w.includes('='))
            .map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)] as const),
        ),
        code: body.join('\n') + '\n',
      };
      const expect = /^<!-- expect: (.*) -->$/.exec((lines[i] ?? '').trim());
      if (expect?.[1] !== undefined) block.expect = new RegExp(expect[1]);
      blocks.push(block);
      continue;
    }
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading?.[1] !== undefined) {
      const base = githubSlug(heading[1]);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      headings.push({ line: i + 1, text: heading[1], anchor: n === 0 ? base : `${base}-${n}` });
    }
    // links outside inline code spans: [text](target), ![alt](target), [ref]: target
    const prose = line.replace(/`[^`]*`/g, '');
    for (const m of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      if (m[1] !== undefined) links.push({ page, line: i + 1, target: m[1] });
    }
    const definition = /^\s{0,3}\[[^\]]+\]:\s+(\S+)/.exec(prose);
    if (definition?.[1] !== undefined) links.push({ page, line: i + 1, target: definition[1] });
    for (const m of prose.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) {
      if (m[1] !== undefined) extraAnchors.add(m[1]);
    }
    i++;
  }
  return { headings, extraAnchors, links, blocks };
}
