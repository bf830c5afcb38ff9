#!/usr/bin/env node
// `npm run build`: compiles with tsc (JS and declarations) into a fresh directory, copies the files
// under src/ that tsc does not emit (the operations page's assets, the BMP decoder's worker script,
// which runs under plain node) next to the compiled JS, where the code finds them through
// import.meta.url, then swaps the new tree in for dist/ with two renames. So dist/ never holds a
// file of a deleted source, and processes running from the old dist/ (a worker beside `npm start`,
// a parallel test run) never find it half-built or gone. A few lines of node:fs and the project's
// own tsc, run on the node running this script, so no build tool is added as a dependency.
import { execFileSync } from 'node:child_process';
import { cpSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = `${root}dist`;
const next = `${root}dist.next-${process.pid}`;
const old = `${root}dist.old-${process.pid}`;
rmSync(next, { recursive: true, force: true });
try {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', next], {
    cwd: root,
    stdio: 'inherit',
  });
  cpSync(`${root}src`, `${next}/src`, {
    recursive: true,
    filter: (source) => !source.endsWith('.ts'),
  });
  // another build may swap at the same moment: move whatever dist/ is aside, then try again
  for (let attempt = 1; ; attempt++) {
    try {
      renameSync(dist, old);
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
    }
    try {
      renameSync(next, dist);
      break;
    } catch (err) {
      if (attempt === 5 || !['ENOTEMPTY', 'EEXIST'].includes(err.code)) throw err;
      rmSync(old, { recursive: true, force: true });
    }
  }
} finally {
  rmSync(next, { recursive: true, force: true });
  rmSync(old, { recursive: true, force: true });
}
