// Compiles wasm/kernels.ts (AssemblyScript) into src/models/kernels.wasm, or into the path given as the
// first argument; with `--fold` first, wasm/fold.ts into src/server/fold.wasm (or the path after it). The
// compiler is the exact assemblyscript version pinned in package.json's devDependencies;
// test/models/kernels-build.test.ts and test/server/fold-build.test.ts rebuild and check the committed bytes.
import { main } from 'assemblyscript/asc';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const fold = process.argv[2] === '--fold';
const source = fold ? 'wasm/fold.ts' : 'wasm/kernels.ts';
const out = process.argv[fold ? 3 : 2] ?? (fold ? 'src/server/fold.wasm' : 'src/models/kernels.wasm');

/** The compiler flags: SIMD on, no garbage-collected runtime, memory owned by the JavaScript side. */
export const FLAGS = [
  source,
  '--outFile',
  out,
  '-O3',
  '--noAssert',
  '--enable',
  'simd',
  '--runtime',
  'stub',
  '--importMemory',
  '--initialMemory',
  '1',
];

const { error, stderr } = await main(FLAGS, {
  stdout: process.stdout,
  stderr: process.stderr,
  baseDir: root,
});
if (error) {
  console.error(stderr.toString());
  process.exit(1);
}
