#!/usr/bin/env node
// Runs the CLI compiled to JavaScript (bin/compiled.mjs), or the TypeScript sources through tsx when it cannot
// be compiled or FEDMED_NO_COMPILE is set.
import { compiledCli } from './compiled.mjs';

const compiled = process.env.FEDMED_NO_COMPILE ? null : await compiledCli();
const { main } =
  compiled !== null
    ? await import(compiled)
    : await (await import('tsx/esm/api')).tsImport('../src/cli/main.ts', import.meta.url);
process.exitCode = await main(process.argv.slice(2));
