#!/usr/bin/env node
// The package's command: the compiled CLI (dist/src/cli/main.js) under plain node. In a checkout,
// `npm run build` makes it (`npm start` builds first).
import { existsSync } from 'node:fs';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    'cloudauth-orchestrator: the compiled code is missing (dist/src/cli/main.js); run `npm run build` first\n',
  );
  process.exit(2);
}
await import(main.href);
