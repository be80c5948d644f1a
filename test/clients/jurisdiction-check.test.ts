import { describe, expect, it } from 'vitest';
import { HospitalRefusal } from '../../src/clients/error-reports.ts';
import { OutgoingCheck } from '../../src/clients/jurisdiction-check.ts';
import type { HostSetup } from '../../src/protocol/host-api.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import { hostSetup } from '../../src/server/host-setup.ts';

/** What a hospital's worker is told at setup, for a scenario with the given policies (coordinator in Korea). */
function setupOf(hospital: string, jurisdiction: unknown, patients = 80): HostSetup {
  const scenario = parseScenario({
    name: 'outgoing-check',
    seed: 1,
    rounds: 1,
    minClients: 1,
    coordinator: { site: 'KR' },
    data: { kind: 'synthetic-cohort' },
    hospitals: [
      { id: 'kr-a', country: 'KR', patients: 60 },
      { id: 'cn-a', country: 'CN', patients },
      { id: 'cn-b', country: 'CN', patients: 60 },
    ],
    model: { kind: 'logistic' },
    jurisdiction,
  });
  return hostSetup(scenario, 'js', '/tmp', hospital);
}

const fitReply = { kind: 'fit-reply' as const, fields: { numExamples: 60, metrics: {} } };
const evaluation = (metrics: Record<string, number>) => ({
  kind: 'evaluate-reply' as const,
  fields: { metrics },
});

function refusal(check: OutgoingCheck, reply: Parameters<OutgoingCheck['check']>[0]): string | undefined {
  try {
    check.check(reply);
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(HospitalRefusal);
    const r = e as HospitalRefusal;
    expect(r.category).toBe('refused');
    return r.field;
  }
}

describe("a hospital's own check of its replies against its country's policy", () => {
  const home = [{ basis: 'separate-consent' }, { basis: 'entrusted-processing' }];

  it('refuses parameters a rule of its country forbids, naming the rule; lets them go once the basis is in place', () => {
    const bare = { countries: { KR: { preset: 'korea' }, CN: { preset: 'china', bases: home } } };
    const cn = new OutgoingCheck(setupOf('cn-a', bare), { train: 60, test: 20 });
    expect(refusal(cn, fitReply)).toBe('jurisdiction:CN-PIPL-38');
    const signed = {
      ...bare,
      transfers: [{ from: 'CN', to: 'KR', bases: [{ basis: 'cac-standard-contract' }] }],
    };
    expect(
      refusal(new OutgoingCheck(setupOf('cn-a', signed), { train: 60, test: 20 }), fitReply),
    ).toBeUndefined();
  });

  it('weighs what the reply carries: subgroup metrics a custom rule keeps at home are refused, plain metrics go', () => {
    const j = {
      countries: {
        KR: { preset: 'korea' },
        CN: {
          preset: 'custom',
          rules: [
            {
              id: 'CN-SUBGROUPS',
              says: 'subgroup metrics stay in China',
              leg: 'leave-country',
              classes: ['subgroup-metrics'],
            },
          ],
        },
      },
    };
    const cn = new OutgoingCheck(setupOf('cn-a', j), { train: 60, test: 20 });
    expect(refusal(cn, evaluation({ auroc: 0.7 }))).toBeUndefined();
    expect(refusal(cn, evaluation({ auroc: 0.7, 'auroc__sex=F': 0.6 }))).toBe('jurisdiction:CN-SUBGROUPS');
    expect(refusal(cn, { kind: 'error', fields: {} })).toBeUndefined();
  });

  it('counts its own exports for a volume threshold: the reply that takes it past 10,000 people is refused', () => {
    const j = {
      countries: { KR: { preset: 'korea' }, CN: { preset: 'china', bases: home } },
      transfers: [{ from: 'CN', to: 'KR', bases: [{ basis: 'cac-standard-contract' }] }],
    };
    const cn = new OutgoingCheck(setupOf('cn-a', j, 13_400), { train: 9_000, test: 4_400 });
    expect(refusal(cn, fitReply)).toBeUndefined();
    expect(refusal(cn, fitReply)).toBeUndefined();
    expect(refusal(cn, evaluation({ auroc: 0.7 }))).toBeUndefined();
    expect(refusal(cn, evaluation({ auroc: 0.7, 'auroc__sex=F': 0.6 }))).toBeUndefined();
    // The histogram is sensitive under the cautious default: 9,000 training + 4,400 held-out people > 10,000.
    const histogram = {
      ...evaluation({ auroc: 0.7 }),
      vectors: [['histogram', new Float32Array(4)]] as const,
    };
    expect(refusal(cn, histogram)).toBe('jurisdiction:CN-CBDF-SENSITIVE-10000');
  });

  it('knows only its own country: a Korean hospital is told nothing of China, a Chinese one only itself as an operator', () => {
    const j = {
      countries: {
        KR: { preset: 'korea', bases: [{ basis: 'entrusted-processing' }] },
        CN: { preset: 'china', bases: home, criticalInfrastructure: ['cn-a', 'cn-b'] },
      },
      transfers: [{ from: 'CN', to: 'KR', bases: [{ basis: 'cac-standard-contract' }] }],
    };
    expect(Object.keys(setupOf('kr-a', j).jurisdiction!.config.countries)).toEqual(['KR']);
    expect(setupOf('kr-a', j).jurisdiction!.config.transfers).toEqual([]);
    expect(setupOf('cn-b', j).jurisdiction!.config.countries.CN!.criticalInfrastructure).toEqual(['cn-b']);
  });
});
