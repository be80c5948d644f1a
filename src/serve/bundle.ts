import { build } from 'esbuild';

const ENTRY = new URL('./client/dashboard.ts', import.meta.url).pathname;

/** The page's script: src/serve/client bundled into one ES module (with the report's formatting it imports). */
export async function clientBundle(): Promise<string> {
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
  });
  return result.outputFiles[0]!.text;
}
