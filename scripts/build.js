#!/usr/bin/env node
// `npm run build`: empties dist/ (so that no file of a deleted source is left to be packed),
// compiles with tsc (JS and declarations), then copies the files under src/ that tsc does not emit
// (the operations page's assets, the BMP decoder's worker script, which runs under plain node)
// next to the compiled JS, where the code finds them through import.meta.url. A few lines of
// node:fs and the project's own tsc, run on the node running this script, so no build tool is
// added as a dependency.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
rmSync(`${root}dist`, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
cpSync(`${root}src`, `${root}dist/src`, {
  recursive: true,
  filter: (source) => !source.endsWith('.ts'),
});
