// The CLI, the worker thread and the report's chart thread compiled to JavaScript with esbuild, once per version of the sources, so a
// command loads two bundles instead of some 240 TypeScript modules through tsx's loader hooks (each thread
// paid that again). Bundles live in node_modules/.cache/fedmed/cli/<fingerprint>/; the fingerprint covers every
// file under src/ (path, size, mtime, ctime, inode), package.json, package-lock.json and this file, so an edited source is
// recompiled on the next command. Every `import.meta.url` in a source is replaced by that source's own URL,
// so files read relative to a module (kernels.wasm, fonts, package.json) resolve as they do under tsx.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CACHE = join(ROOT, 'node_modules/.cache/fedmed/cli');
/**
 * Packages loaded from node_modules at run time: native or WebAssembly files found beside their code, the
 * lazily loaded TensorFlow.js, and the tools. The rest (vega, zod, d3…) is bundled: one file loads faster than
 * hundreds of modules.
 */
const EXTERNAL = ['@tensorflow/*', '@resvg/*', 'subset-font', 'esbuild', 'tsx', 'tsx/*', 'fastify', 'dcmjs'];
/** Bundles of other fingerprints older than this are removed after a compile. */
const STALE_MS = 24 * 3600 * 1000;

/** Path, size and mtime of every input, hashed. */
function fingerprint() {
  const hash = createHash('sha256');
  const files = readdirSync(join(ROOT, 'src'), { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath ?? d.path, d.name))
    .concat(['package.json', 'package-lock.json', 'bin/compiled.mjs'].map((f) => join(ROOT, f)))
    .sort();
  for (const file of files) {
    const s = statSync(file, { throwIfNoEntry: false });
    hash.update(`${file}\0${s?.size}\0${s?.mtimeMs}\0${s?.ctimeMs}\0${s?.ino}\n`);
  }
  return hash.digest('hex').slice(0, 16);
}

/** Rewrites `import.meta.url` in each source to the source's own URL. */
const sourceUrls = {
  name: 'source-urls',
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, async (args) => ({
      contents: (await readFile(args.path, 'utf8')).replaceAll(
        'import.meta.url',
        JSON.stringify(pathToFileURL(args.path).href),
      ),
      loader: 'ts',
    }));
  },
};

/**
 * CommonJS packages the bundles load with `require`: imported from an ES module, Node first scans a CommonJS
 * file for its export names (1.6 s of CPU for TensorFlow.js' layers and core); required, it does not. Every
 * thread still gets the one instance Node's module cache holds.
 */
const REQUIRED = /^@tensorflow\/tfjs-(core|layers|backend-cpu|backend-wasm)$/;
const required = {
  name: 'required',
  setup(build) {
    // A dynamic import() stays one: its namespace needs the export names (Node shares the instance anyway).
    build.onResolve({ filter: REQUIRED }, (args) =>
      args.namespace === 'required' || args.kind === 'dynamic-import'
        ? { path: args.path, external: true }
        : { path: args.path, namespace: 'required' },
    );
    build.onLoad({ filter: /.*/, namespace: 'required' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

async function compile(dir) {
  const { build } = await import('esbuild');
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  await build({
    entryPoints: {
      cli: join(ROOT, 'src/cli/main.ts'),
      worker: join(ROOT, 'src/clients/worker.ts'),
      'chart-worker': join(ROOT, 'src/report/chart-worker.ts'),
    },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL,
    banner: {
      js: "import { createRequire as fedmedRequire } from 'node:module'; const require = fedmedRequire(import.meta.url);",
    },
    outdir: tmp,
    logLevel: 'silent',
    legalComments: 'none',
    define: {
      FEDMED_WORKER_BUNDLE: JSON.stringify(pathToFileURL(join(dir, 'worker.js')).href),
      FEDMED_CHART_WORKER_BUNDLE: JSON.stringify(pathToFileURL(join(dir, 'chart-worker.js')).href),
    },
    plugins: [sourceUrls, required],
  });
  writeFileSync(join(tmp, 'complete'), '');
  try {
    renameSync(tmp, dir);
  } catch {
    // Another command compiled the same sources first: its bundles are the same.
    rmSync(tmp, { recursive: true, force: true });
  }
  for (const other of readdirSync(CACHE)) {
    const path = join(CACHE, other);
    if (path !== dir && Date.now() - statSync(path).mtimeMs > STALE_MS)
      rmSync(path, { recursive: true, force: true });
  }
}

/** The URL of the compiled CLI for the current sources (compiling it if needed), or null if it cannot be built. */
export async function compiledCli() {
  try {
    const dir = join(CACHE, fingerprint());
    if (statSync(join(dir, 'complete'), { throwIfNoEntry: false }) === undefined) {
      mkdirSync(CACHE, { recursive: true });
      await compile(dir);
    } else {
      // Age means unused: a bundle a running command still loads chunks from is never the stale one removed.
      const now = new Date();
      utimesSync(dir, now, now);
    }
    return pathToFileURL(join(dir, 'cli.js')).href;
  } catch {
    return null;
  }
}
