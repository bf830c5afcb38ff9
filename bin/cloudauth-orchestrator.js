#!/usr/bin/env node
// The package's command: registers tsx, then runs the TypeScript CLI (src/cli/main.ts).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
