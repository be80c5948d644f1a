import { existsSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { init, parse } from 'es-module-lexer';
import { sha256 } from '../../common/hash.ts';

/** What a strategy module is made of: every local file it reaches, hashed, and the packages it imports. */
export interface ModuleGraph {
  /** Local modules, the entry first, each with its path relative to the entry's folder and its SHA-256. */
  readonly modules: readonly { readonly path: string; readonly sha256: string }[];
  /** Packages imported by name, with the version installed where they are imported from (or `unknown`). */
  readonly packages: readonly { readonly name: string; readonly version: string }[];
  /** Imports that could not be followed: a computed dynamic import, or a file that is not there. */
  readonly unresolved: readonly string[];
}

const BUILTINS = new Set(builtinModules);

/** Follows the static and literal dynamic imports of `entry` (JavaScript or TypeScript) to their files. */
export async function moduleGraph(entry: string): Promise<ModuleGraph> {
  await init;
  const root = dirname(entry);
  const seen = new Map<string, string>();
  const packages = new Map<string, string>();
  const unresolved: string[] = [];
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    const source = readFileSync(file);
    seen.set(file, sha256(source));
    let imports: readonly { n?: string | undefined }[];
    try {
      [imports] = parse(source.toString('utf8'), file);
    } catch {
      unresolved.push(`${relative(root, file)}: imports that cannot be parsed`);
      continue;
    }
    for (const { n: spec } of imports) {
      if (spec === undefined) {
        unresolved.push(`${relative(root, file)}: an import of a computed name`);
      } else if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('file:')) {
        const target = localFile(file, spec);
        if (target === undefined) unresolved.push(`${relative(root, file)}: ${spec}`);
        else queue.push(target);
      } else if (!spec.startsWith('node:') && !BUILTINS.has(spec)) {
        const name = packageName(spec);
        if (!packages.has(name)) packages.set(name, installedVersion(name, dirname(file)));
      }
    }
  }
  return {
    modules: [...seen].map(([path, hash]) => ({ path: relative(root, path) || '.', sha256: hash })),
    packages: [...packages]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, version]) => ({ name, version })),
    unresolved,
  };
}

function localFile(from: string, spec: string): string | undefined {
  const base = spec.startsWith('file:') ? fileURLToPath(spec) : resolve(dirname(from), spec);
  const candidates = [base, base.replace(/\.js$/, '.ts'), `${base}.ts`, `${base}.mjs`, `${base}.js`];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function installedVersion(name: string, from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'node_modules', name, 'package.json');
    if (existsSync(manifest)) {
      try {
        const version = (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: unknown }).version;
        return typeof version === 'string' ? version : 'unknown';
      } catch {
        return 'unknown';
      }
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}
