import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/common/hash.ts';
import { fedmed } from '../helpers/cli.ts';
import { runInMemory, smallScenario } from '../helpers/run.ts';

/** One unit in the last place of a Float32 value (its spacing at that magnitude). */
function ulp32(x: number): number {
  const f = new Float32Array([Math.abs(x)]);
  const u = new Uint32Array(f.buffer);
  u[0]! += 1;
  return f[0]! - Math.abs(x);
}

describe('hierarchical topology: country aggregators', () => {
  it('FedAvg through country aggregators equals flat FedAvg to one Float32 ulp per round, the same at 1 and 2 threads', async () => {
    const flat = await runInMemory(smallScenario({ rounds: 1, backend: 'js' }), { threads: 1 });
    const [one, two] = [
      await runInMemory(smallScenario({ rounds: 1, topology: 'hierarchical', backend: 'js' }), {
        threads: 1,
      }),
      await runInMemory(smallScenario({ rounds: 1, topology: 'hierarchical', backend: 'js' }), {
        threads: 2,
      }),
    ];
    const f = flat.result.parameters;
    const h = one.result.parameters;
    expect(h.length).toBe(f.length);
    for (let i = 0; i < f.length; i++) expect(Math.abs(h[i]! - f[i]!)).toBeLessThanOrEqual(ulp32(f[i]!));
    expect(sha256(two.result.parameters)).toBe(sha256(h));
    expect(JSON.stringify(two.crossings)).toBe(JSON.stringify(one.crossings));
    expect(one.result.final!.evaluate.countries).toEqual(flat.result.final!.evaluate.countries);
  }, 120_000);

  it('records every hop with both ends, and no per-hospital update crosses a border', async () => {
    const run = await runInMemory(
      smallScenario({ rounds: 2, topology: 'hierarchical', backend: 'js', coordinator: { site: 'neutral' } }),
      { threads: 2 },
    );
    expect(run.result.status).toBe('completed');
    const federation = run.crossings.filter((c) => c.purpose === 'federation');
    expect(federation.every((c) => c.peer !== undefined)).toBe(true);
    const hospitalHops = federation.filter((c) => !c.hospital.startsWith('aggregator-'));
    for (const c of hospitalHops) {
      expect(c.peer).toEqual({ party: `aggregator-${c.country}`, country: c.country });
      expect(c.crossesBorder).toBe(false);
    }
    const across = federation.filter((c) => c.crossesBorder);
    expect(new Set(across.map((c) => c.kind))).toEqual(
      new Set(['country-fit-request', 'country-aggregate', 'country-evaluate-request', 'country-evaluation']),
    );
    expect(across.every((c) => c.peer!.party === 'coordinator' && c.peer!.country === 'neutral')).toBe(true);
    expect(federation.filter((c) => c.kind === 'fit-reply' && c.crossesBorder)).toEqual([]);
    // Each round: one aggregate per country, summing exactly its own hospitals' training patients.
    const aggregates = federation.filter((c) => c.kind === 'country-aggregate');
    expect(aggregates.map((c) => `${c.round}:${c.hospital}`)).toEqual([
      '1:aggregator-CN',
      '1:aggregator-KR',
      '2:aggregator-CN',
      '2:aggregator-KR',
    ]);
    for (const a of aggregates)
      expect(a.sources!.every((s) => s.startsWith(a.country.toLowerCase()) && s.endsWith(':train'))).toBe(
        true,
      );
    expect(run.result.bytes.crossBorder).toBe(across.reduce((s, c) => s + c.bytes, 0));
  }, 120_000);

  it('refuses a strategy that does not decompose into country sums, with exit 2 naming the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmed-hier-'));
    const file = join(dir, 'krum.json');
    const scenario = {
      name: 'hier-krum',
      rounds: 1,
      coordinator: { site: 'KR' },
      topology: 'hierarchical',
      data: { kind: 'synthetic-cohort' },
      hospitals: ['a', 'b', 'c', 'd'].map((x) => ({ id: `kr-${x}`, country: 'KR', patients: 60 })),
      model: { kind: 'logistic' },
      strategy: { name: 'krum', fractionFit: 1, fractionEvaluate: 1, f: 0 },
    };
    writeFileSync(file, JSON.stringify(scenario));
    const r = fedmed(['run', file, '--out', join(dir, 'out'), '--quiet', '--workers', '1']);
    expect(r.stderr).toMatch(/topology: "hierarchical" needs a strategy .*strategy krum does not/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.code).toBe(2);
  }, 120_000);
});
