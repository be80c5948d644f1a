import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

/** Every module a file imports, statically or dynamically, resolved to a path (bare packages left out). */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const specs = info.importedFiles.map((f) => f.fileName);
  return specs.filter((s) => s.startsWith('.')).map((s) => resolve(dirname(file), s));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : /\.(ts|mts|mjs|js)$/.test(p) ? [p] : [];
  });
}

/** Files reachable from `start`, with the chain that reaches each. */
function reachable(start: readonly string[]): Map<string, string[]> {
  const seen = new Map<string, string[]>(start.map((f) => [f, [f]]));
  const queue = [...start];
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const next of importsOf(file)) {
      if (!seen.has(next)) {
        seen.set(next, [...seen.get(file)!, next]);
        queue.push(next);
      }
    }
  }
  return seen;
}

describe('raw data stays on the client side', () => {
  it('the coordinator and CLI never reach client code, statically or dynamically', () => {
    const starts = [...filesUnder(join(root, 'src/server')), ...filesUnder(join(root, 'src/cli'))];
    expect(starts.length).toBeGreaterThan(5);
    const reached = reachable(starts);
    const leaks = [...reached].filter(([f]) => f.startsWith(join(root, 'src/clients') + '/'));
    expect(leaks.map(([, chain]) => chain.map((f) => relative(root, f)).join(' → '))).toEqual([]);
  });

  it('the checker sees static and dynamic imports', () => {
    const file = join(root, 'test/server/fixtures/leaky.ts');
    const reached = [...reachable([file]).keys()].map((f) => relative(root, f));
    expect(reached).toContain('src/clients/data/index.ts');
    expect(reached).toContain('src/clients/metrics.ts');
  });
});
