#!/usr/bin/env node
// The `raftkv` command. raftkv is written in TypeScript and runs without a build step:
// tsx (a runtime dependency) compiles src/ as it is loaded. See src/kv/cli.ts.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/kv/cli.ts');
process.exit(await main(process.argv.slice(2)));
