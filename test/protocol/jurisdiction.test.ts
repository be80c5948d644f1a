import { describe, expect, it } from 'vitest';
import { BASIS_NAMES } from '../../src/protocol/jurisdiction/bases.ts';
import {
  expectedReplyClasses,
  modelClass,
  recordClasses,
  replyClasses,
} from '../../src/protocol/jurisdiction/classes.ts';
import { Consortium } from '../../src/protocol/jurisdiction/consortium.ts';
import { Enforcer, type Facts, type Source } from '../../src/protocol/jurisdiction/enforcer.ts';
import { presetRuleIds } from '../../src/protocol/jurisdiction/presets.ts';
import { DATA_CLASS_NAMES, type DataClass } from '../../src/protocol/kinds.ts';
import { jurisdictionSchema } from '../../src/scenario/jurisdiction-schema.ts';

const countryOf = new Map([
  ['kr-a', 'KR'],
  ['cn-a', 'CN'],
  ['cn-b', 'CN'],
]);

/** An enforcer for a jurisdiction block (defaults filled in), with holdings per hospital. */
function enforcer(
  block: unknown,
  site = 'KR',
  holdings: Record<string, [number, number]> = { 'kr-a': [90, 30], 'cn-a': [120, 40], 'cn-b': [60, 20] },
): Enforcer {
  const e = new Enforcer(new Consortium(jurisdictionSchema.parse(block)), countryOf, site);
  for (const [h, [train, test]] of Object.entries(holdings)) e.hold(h, { train, test });
  return e;
}

const reply = (hospital: string, classes: DataClass[], sources: Source[] = [`${hospital}:train`]): Facts => ({
  direction: 'to-coordinator',
  hospital,
  classes,
  sources,
});
const rules = (e: Enforcer, f: Facts) => e.check(f).breaches.map((b) => b.rule);
const relied = (e: Enforcer, f: Facts) => e.check(f).relied.map((r) => `${r.rule}:${r.basis}`);

const CHINA = { countries: { CN: { preset: 'china' }, KR: { preset: 'korea' } } };
const ALL_CN_BASES = {
  countries: {
    CN: { preset: 'china', bases: [{ basis: 'separate-consent' }, { basis: 'entrusted-processing' }] },
    KR: { preset: 'korea' },
  },
  transfers: [{ from: 'CN', to: 'KR', bases: [{ basis: 'cac-standard-contract' }] }],
};

describe('the China preset (cautious default)', () => {
  it('per-hospital parameters leaving China need a basis to leave the hospital, an export instrument and consent', () => {
    const f = reply('cn-a', ['parameters-clear']);
    expect(rules(enforcer(CHINA), f)).toEqual(['CN-PIPL-23', 'CN-PIPL-38', 'CN-PIPL-39']);
    const e = enforcer(ALL_CN_BASES);
    expect(rules(e, f)).toEqual([]);
    expect(relied(e, f)).toEqual([
      'CN-PIPL-23:separate-consent',
      'CN-PIPL-38:cac-standard-contract',
      'CN-PIPL-39:separate-consent',
    ]);
  });

  it('with the coordinator in China only the leg out of the hospital applies', () => {
    const f = reply('cn-a', ['parameters-clear']);
    expect(rules(enforcer(CHINA, 'CN'), f)).toEqual(['CN-PIPL-23']);
  });

  it('flipping parametersArePersonalData lets parameters go with no basis; records stay personal', () => {
    const block = {
      countries: { CN: { preset: 'china', parametersArePersonalData: false }, KR: { preset: 'korea' } },
    };
    expect(rules(enforcer(block), reply('cn-a', ['parameters-clear']))).toEqual([]);
    expect(rules(enforcer(block), reply('cn-a', ['personal-records']))).toContain('CN-PIPL-38');
  });

  it.each(
    DATA_CLASS_NAMES.filter(
      (c) => !['personal-records', 'genetic-information', 'parameters-clear', 'score-histogram'].includes(c),
    ),
  )('%s is not personal information: no rule of either preset applies', (cls) => {
    for (const h of ['cn-a', 'kr-a']) expect(rules(enforcer(CHINA, 'neutral'), reply(h, [cls]))).toEqual([]);
  });

  it('histograms and plain aggregates follow their settings', () => {
    expect(rules(enforcer(CHINA), reply('cn-a', ['score-histogram'], ['cn-a:test']))).toContain('CN-PIPL-38');
    const off = {
      countries: {
        CN: { preset: 'china', histogramsArePersonalData: false, aggregatesArePersonalData: true },
        KR: { preset: 'korea' },
      },
    };
    expect(rules(enforcer(off), reply('cn-a', ['score-histogram'], ['cn-a:test']))).toEqual([]);
    expect(rules(enforcer(off), reply('cn-a', ['aggregate-model']))).toContain('CN-PIPL-38');
  });

  it('sensitive information of more than 10,000 people, counted once per person and cumulatively, needs a security assessment', () => {
    const at = (train: number, test: number) =>
      enforcer(ALL_CN_BASES, 'KR', { 'cn-a': [train, test], 'cn-b': [1, 1], 'kr-a': [1, 1] });
    const fit = reply('cn-a', ['parameters-clear']);
    expect(rules(at(10_000, 10), fit)).toEqual([]);
    expect(rules(at(10_001, 10), fit)).toEqual(['CN-CBDF-SENSITIVE-10000']);
    const e = at(6_000, 5_000);
    e.commit(fit);
    e.commit(fit);
    expect(rules(e, fit)).toEqual([]);
    const histogram = reply('cn-a', ['score-histogram'], ['cn-a:test']);
    expect(rules(e, histogram)).toEqual(['CN-CBDF-SENSITIVE-10000']);
    expect(e.check(histogram).breaches[0]!.missing).toEqual(['cac-security-assessment']);
  });

  it('people already counted as exported are counted under the holdings as they stand, as a new message is', () => {
    const e = enforcer(ALL_CN_BASES, 'KR', { 'cn-a': [6_000, 10], 'cn-b': [1, 1], 'kr-a': [1, 1] });
    const fit = reply('cn-a', ['parameters-clear']);
    e.commit(fit);
    expect(rules(e, reply('cn-a', ['score-histogram'], ['cn-a:test']))).toEqual([]);
    e.hold('cn-a', { train: 10_500, test: 10 });
    expect(rules(e, reply('cn-a', ['score-histogram'], ['cn-a:test']))).toEqual(['CN-CBDF-SENSITIVE-10000']);
  });

  it('a critical-information-infrastructure operator exports personal information only after an assessment', () => {
    const block = {
      ...ALL_CN_BASES,
      countries: {
        ...ALL_CN_BASES.countries,
        CN: { ...ALL_CN_BASES.countries.CN, criticalInfrastructure: ['cn-a'] },
      },
    };
    expect(rules(enforcer(block), reply('cn-a', ['parameters-clear']))).toEqual(['CN-CSL-37']);
    expect(rules(enforcer(block), reply('cn-b', ['parameters-clear']))).toEqual([]);
  });

  it('classes designated important data need an assessment, from every hospital', () => {
    const block = {
      ...ALL_CN_BASES,
      countries: {
        ...ALL_CN_BASES.countries,
        CN: { ...ALL_CN_BASES.countries.CN, importantData: ['evaluation-metrics'] },
      },
    };
    expect(rules(enforcer(block), reply('cn-b', ['evaluation-metrics'], ['cn-b:test']))).toEqual([
      'CN-DSL-31',
    ]);
    expect(rules(enforcer(block, 'CN'), reply('cn-b', ['evaluation-metrics'], ['cn-b:test']))).toEqual([]);
  });

  it('genetic information needs approval or filing besides the rules on personal information', () => {
    const records = reply('cn-a', ['personal-records', 'genetic-information']);
    expect(rules(enforcer(ALL_CN_BASES), records)).toEqual(['CN-HGR']);
    const filed = {
      ...ALL_CN_BASES,
      transfers: [
        { from: 'CN', to: 'KR', bases: [{ basis: 'cac-standard-contract' }, { basis: 'hgr-filing' }] },
      ],
    };
    expect(rules(enforcer(filed), records)).toEqual([]);
    expect(relied(enforcer(filed), records)).toContain('CN-HGR:hgr-filing');
  });

  it('consent for a share of patients, or for other hospitals, does not cover data derived from all of them', () => {
    const partial = {
      ...ALL_CN_BASES,
      countries: {
        ...ALL_CN_BASES.countries,
        CN: {
          preset: 'china',
          bases: [
            { basis: 'entrusted-processing' },
            { basis: 'separate-consent', share: 0.95 },
            { basis: 'separate-consent', hospitals: ['cn-b'] },
          ],
        },
      },
    };
    const e = enforcer(partial);
    expect(rules(e, reply('cn-b', ['parameters-clear']))).toEqual([]);
    const breach = e.check(reply('cn-a', ['parameters-clear'])).breaches;
    expect(breach.map((b) => b.rule)).toEqual(['CN-PIPL-39']);
    expect(breach[0]!.missing).toEqual([
      'separate-consent (declared for 95% of patients; the data derive from all of them; declared for other hospitals than cn-a)',
    ]);
  });

  it('a security assessment holds three years from its grant', () => {
    const assessed = (granted: number) => ({
      year: 2026,
      countries: ALL_CN_BASES.countries,
      transfers: [{ from: 'CN', to: 'KR', bases: [{ basis: 'cac-security-assessment', granted }] }],
    });
    const f = reply('cn-a', ['parameters-clear']);
    expect(rules(enforcer(assessed(2024)), f)).toEqual([]);
    expect(relied(enforcer(assessed(2024)), f)).toContain('CN-PIPL-38:cac-security-assessment');
    expect(enforcer(assessed(2023)).check(f).breaches[0]!.missing[0]).toBe(
      'cac-security-assessment (granted 2023, valid 3 years: expired by 2026)',
    );
  });

  it('a transfer basis covers its own destination only', () => {
    expect(rules(enforcer(ALL_CN_BASES, 'neutral'), reply('cn-a', ['parameters-clear']))).toEqual([
      'CN-PIPL-38',
    ]);
  });
});

describe('the Korea preset', () => {
  const korea = (bases: object[], transfers: object[] = []) => ({
    countries: { KR: { preset: 'korea', bases }, CN: { preset: 'china' } },
    transfers,
  });
  const f = reply('kr-a', ['parameters-clear']);

  it('personal information leaving the hospital needs separate consent or an entrustment', () => {
    expect(rules(enforcer(korea([])), f)).toEqual(['KR-PIPA-17']);
    expect(rules(enforcer(korea([{ basis: 'entrusted-processing' }])), f)).toEqual([]);
  });

  it.each(['separate-consent', 'law-or-treaty', 'contract-necessity', 'pipc-certification', 'pipc-adequacy'])(
    'going abroad, %s alone satisfies art. 28-8',
    (basis) => {
      const block = korea(
        [{ basis: 'entrusted-processing' }],
        [{ from: 'KR', to: 'CN', bases: [{ basis }] }],
      );
      const abroad = enforcer(block, 'CN');
      expect(rules(abroad, f)).toEqual([]);
      expect(relied(abroad, f)).toContain(`KR-PIPA-28-8:${basis}`);
      expect(rules(enforcer(korea([{ basis: 'entrusted-processing' }]), 'CN'), f)).toEqual(['KR-PIPA-28-8']);
    },
  );

  it("the coordinator's broadcast abroad is an onward transfer under each origin's policy, not the recipient's", () => {
    const block = {
      countries: {
        KR: { preset: 'korea', aggregatesArePersonalData: true },
        CN: { preset: 'china', aggregatesArePersonalData: true },
      },
    };
    const model: Facts = {
      direction: 'to-hospital',
      hospital: 'cn-a',
      classes: ['aggregate-model'],
      sources: ['cn-a:train', 'cn-b:train', 'kr-a:train'],
    };
    expect(rules(enforcer(block), model)).toEqual(['KR-PIPA-28-8']);
    expect(rules(enforcer(block), { ...model, hospital: 'kr-a' })).toEqual(['CN-PIPL-38', 'CN-PIPL-39']);
  });
});

describe('custom rules', () => {
  it('a rule with no basis forbids its classes that leg; a custom policy has only its own rules', () => {
    const block = {
      countries: {
        CN: {
          preset: 'custom',
          rules: [
            {
              id: 'NO-SUBGROUPS',
              says: 'no subgroup metrics abroad',
              leg: 'leave-country',
              classes: ['subgroup-metrics'],
            },
          ],
        },
        KR: { preset: 'custom' },
      },
    };
    const e = enforcer(block);
    expect(rules(e, reply('cn-a', ['evaluation-metrics', 'subgroup-metrics'], ['cn-a:test']))).toEqual([
      'NO-SUBGROUPS',
    ]);
    expect(e.check(reply('cn-a', ['subgroup-metrics'])).breaches[0]!.missing).toEqual([]);
    expect(rules(e, reply('cn-a', ['personal-records']))).toEqual([]);
  });
});

describe('classes computed by fedmed', () => {
  it('an evaluation adds subgroup metrics and a score histogram when it carries them', () => {
    expect(replyClasses('evaluate-reply', { metrics: ['auroc'], histogram: false })).toEqual([
      'evaluation-metrics',
    ]);
    expect(replyClasses('evaluate-reply', { metrics: ['auroc', 'n__female'], histogram: true })).toEqual([
      'evaluation-metrics',
      'subgroup-metrics',
      'score-histogram',
    ]);
    expect(replyClasses('fit-reply', { metrics: ['n__female'], histogram: false })).toEqual([
      'parameters-clear',
    ]);
    expect(expectedReplyClasses('evaluate-reply', { subgroups: true, histogramBins: 0 })).toEqual([
      'evaluation-metrics',
      'subgroup-metrics',
    ]);
  });

  it('a model is setup before training, per-hospital parameters below k contributors, an aggregate from k', () => {
    expect([0, 1, 2, 3, 8].map((n) => modelClass(n, 3))).toEqual([
      'setup',
      'parameters-clear',
      'parameters-clear',
      'aggregate-model',
      'aggregate-model',
    ]);
  });

  it("the cohort's records hold genotypes; images do not", () => {
    expect(recordClasses('synthetic-cohort')).toEqual(['personal-records', 'genetic-information']);
    expect(recordClasses('synthetic-imaging')).toEqual(['personal-records']);
  });

  it('every rule id a preset can produce is distinct, and every basis has a law', () => {
    const ids = [...presetRuleIds('china'), ...presetRuleIds('korea')];
    expect(new Set(ids).size).toBe(ids.length);
    expect(BASIS_NAMES.length).toBeGreaterThan(5);
  });
});
