import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/common/hash.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import type { ScenarioInput } from '../../src/scenario/schema.ts';
import { recheckPolicies } from '../../src/server/compliance/recheck.ts';
import { runFederation } from '../../src/server/coordinator.ts';
import { JurisdictionViolation } from '../../src/server/jurisdiction/violation.ts';
import { runInMemory } from '../helpers/run.ts';

const WINE = join(import.meta.dirname, '../../scenarios/wine');

/**
 * The shipped wine federation (three hospitals' own CSVs: own column names, units and codes, a column with
 * missing cells imputed by the federated mean, three classes), with wine-a and wine-b in Korea and wine-c in
 * China, one round.
 */
function wine(topology: 'flat' | 'hierarchical', changes: Partial<ScenarioInput> = {}) {
  const shipped = JSON.parse(readFileSync(join(WINE, 'scenario.json'), 'utf8')) as ScenarioInput & {
    hospitals: { id: string; country: string }[];
  };
  const country: Record<string, string> = { 'wine-a': 'KR', 'wine-b': 'KR', 'wine-c': 'CN' };
  return parseScenario({
    ...shipped,
    rounds: 1,
    topology,
    hospitals: shipped.hospitals.map((h) => ({ ...h, country: country[h.id]! })),
    ...changes,
  });
}

/** China's and Korea's policies, with the bases a federation through a neutral coordinator relies on. */
const jurisdiction: ScenarioInput['jurisdiction'] = {
  year: 2026,
  countries: {
    KR: {
      preset: 'korea',
      bases: [{ basis: 'separate-consent', share: 1 }, { basis: 'entrusted-processing' }],
    },
    CN: {
      preset: 'china',
      bases: [{ basis: 'separate-consent', share: 1 }, { basis: 'entrusted-processing' }],
    },
  },
  transfers: [
    { from: 'CN', to: 'KR', bases: [{ basis: 'cac-standard-contract' }] },
    { from: 'CN', to: 'neutral', bases: [{ basis: 'cac-standard-contract' }] },
  ],
};

/** One unit in the last place of a Float32 value (its spacing at that magnitude). */
function ulp32(x: number): number {
  const f = new Float32Array([Math.abs(x)]);
  const u = new Uint32Array(f.buffer);
  u[0]! += 1;
  return f[0]! - Math.abs(x);
}

describe('hierarchical topology on own data', () => {
  it('preprocesses through the country aggregators: the flat run’s transform bit for bit, its FedAvg model to one Float32 ulp, every hop recorded', async () => {
    const flat = await runInMemory(wine('flat', { jurisdiction }), { threads: 1, baseDir: WINE });
    const scenario = wine('hierarchical', { jurisdiction });
    const hier = await runInMemory(scenario, { threads: 1, baseDir: WINE });
    expect(flat.result.status, flat.result.stopReason).toBe('completed');
    expect(hier.result.status, hier.result.stopReason).toBe('completed');
    // The policies weighed every hop as they were recorded: re-checking the record finds nothing amiss.
    expect(recheckPolicies(scenario, hier.crossings)).toBeUndefined();

    // The same federated statistics, combined in the same order: the same transform and manifest record.
    expect(hier.result.preprocessing).toEqual(flat.result.preprocessing);
    expect(hier.result.preprocessing!.federated).toBe(true);
    expect(hier.result.preprocessing!.missing!['wine-c']).toMatchObject({ magnesium: 6 });
    expect(sha256(new Uint8Array(hier.result.transform!.buffer))).toBe(
      sha256(new Uint8Array(flat.result.transform!.buffer)),
    );

    // FedAvg through the countries equals flat FedAvg to one ulp, and it trained a three-class model.
    const f = flat.result.parameters;
    const h = hier.result.parameters;
    expect(h.length).toBe(f.length);
    for (let i = 0; i < f.length; i++) expect(Math.abs(h[i]! - f[i]!)).toBeLessThanOrEqual(ulp32(f[i]!));
    const metrics = hier.result.final!.evaluate.metrics;
    expect(metrics.global_accuracy).toBeGreaterThan(0.8);
    expect(metrics.global_accuracy).toBe(flat.result.final!.evaluate.metrics.global_accuracy);

    // Statistics go hospital → its aggregator (domestic), then one relay per country to the coordinator.
    const federation = hier.crossings.filter((c) => c.purpose === 'federation');
    for (const c of federation.filter((c) => ['statistics-reply', 'transform-request'].includes(c.kind))) {
      expect(c.peer).toEqual({ party: `aggregator-${c.country}`, country: c.country });
      expect(c.crossesBorder).toBe(false);
    }
    const setupKinds = federation.filter((c) => c.round === 0).map((c) => `${c.kind}:${c.hospital}`);
    const at = (k: string) => setupKinds.indexOf(k);
    for (const c of ['CN', 'KR']) {
      const id = `aggregator-${c}`;
      expect(at(`country-statistics-request:${id}`)).toBeLessThan(at('statistics-request:wine-a'));
      expect(at(`country-statistics:${id}`)).toBeGreaterThan(at('statistics-reply:wine-c'));
      expect(at(`country-transform-request:${id}`)).toBeGreaterThan(at(`country-statistics:${id}`));
      expect(at(`country-transform-request:${id}`)).toBeLessThan(at('transform-request:wine-a'));
      expect(at(`country-transform-reply:${id}`)).toBeGreaterThan(at('transform-reply:wine-c'));
    }
    const relayed = federation.filter((c) => c.kind === 'country-statistics');
    expect(relayed.map((c) => c.hospital)).toEqual(['aggregator-CN', 'aggregator-KR']);
    for (const c of relayed) {
      expect(c.crossesBorder).toBe(true);
      expect(c.peer).toEqual({ party: 'coordinator', country: 'neutral' });
      expect(c.classes).toEqual(['column-statistics']);
      expect(c.sources).toEqual(c.country === 'KR' ? ['wine-a:train', 'wine-b:train'] : ['wine-c:train']);
      // One message holding its hospitals' statistics replies as they came.
      const own = federation.filter(
        (e) => e.kind === 'statistics-reply' && e.country === c.country && e.admitted,
      );
      expect(c.bytes).toBe(own.reduce((s, e) => s + e.bytes, 0));
    }
    // Nothing of a single hospital crosses a border but what the flat run sends the coordinator too.
    const across = federation.filter((c) => c.crossesBorder);
    expect(across.every((c) => c.hospital.startsWith('aggregator-'))).toBe(true);
    const flatClasses = new Set(flat.crossings.flatMap((c) => c.classes));
    for (const c of across) for (const k of c.classes) expect(flatClasses).toContain(k);
  }, 180_000);

  it('a hospital set up again after its thread died gets the transform through its country again, and the record shows that hop', async () => {
    const crash = { behaviour: 'crash' as const, hospital: 'wine-a', rounds: [2] };
    const run = await runInMemory(wine('hierarchical', { rounds: 2, minClients: 2, faults: [crash] }), {
      threads: 2,
      baseDir: WINE,
    });
    expect(run.result.status, run.result.stopReason).toBe('completed');
    // The crashed thread's hospitals are set up again; the transform crosses to each of their countries first.
    const round2 = run.crossings.filter((c) => c.round === 2);
    const setUp = round2.filter((c) => c.kind === 'setup');
    expect(setUp.map((c) => c.hospital)).toContain('wine-a');
    const countries = [...new Set(setUp.map((c) => c.country))].sort();
    const hops = round2.filter((c) => c.kind === 'country-transform-request');
    expect(hops.map((c) => c.hospital)).toEqual(countries.map((c) => `aggregator-${c}`));
    const acknowledged = round2.filter((c) => c.kind === 'country-transform-reply');
    expect(acknowledged.map((c) => c.hospital)).toEqual(countries.map((c) => `aggregator-${c}`));
    for (const { hospital, country } of setUp) {
      const replied = round2.findIndex((c) => c.kind === 'transform-reply' && c.hospital === hospital);
      const up = round2.findIndex((c) => c.kind === 'country-transform-reply' && c.country === country);
      expect(up).toBeGreaterThan(replied);
      const hop = round2.findIndex((c) => c.kind === 'country-transform-request' && c.country === country);
      const sent = round2.findIndex((c) => c.kind === 'transform-request' && c.hospital === hospital);
      expect(hop).toBeGreaterThanOrEqual(0);
      expect(hop).toBeLessThan(sent);
    }
  }, 120_000);

  it('weighs the statistics at the border: a policy that forbids them leaving China stops the run before any hospital is asked', async () => {
    const forbidding = {
      ...jurisdiction!,
      countries: {
        ...jurisdiction!.countries,
        CN: { ...jurisdiction!.countries.CN!, importantData: ['column-statistics' as const] },
      },
    };
    const stopped = await runFederation(wine('hierarchical', { jurisdiction: forbidding }), {
      threads: 1,
      backend: 'js',
      baseDir: WINE,
      timeoutMs: 120_000,
      sink: { round: () => {}, crossings: () => {} },
    }).catch((e: unknown) => e);
    expect(stopped).toBeInstanceOf(JurisdictionViolation);
    const stop = (stopped as JurisdictionViolation).stop;
    expect(stop).toMatchObject({
      hospital: 'aggregator-CN',
      message: 'country-statistics-request',
      enforcement: 'not sent',
    });
    expect(stop.violation).toMatchObject({ rule: 'CN-DSL-31', kind: 'country-statistics' });
  }, 120_000);
});
