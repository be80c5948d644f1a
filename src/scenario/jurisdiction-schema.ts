import { z } from 'zod';
import { BASES, BASIS_NAMES } from '../protocol/jurisdiction/bases.ts';
import { PRESET_NAMES, presetRuleIds } from '../protocol/jurisdiction/presets.ts';
import { DATA_CLASS_NAMES } from '../protocol/kinds.ts';
import { countryCode, hospitalId } from './ids.ts';

const dataClass = z.enum(DATA_CLASS_NAMES);
const basisName = z.enum(BASIS_NAMES);

/** A legal basis in place: for a country's own patients, or for one transfer between two countries. */
const basisEntrySchema = z
  .strictObject({
    basis: basisName.describe('the legal basis (see the README section "Jurisdiction")'),
    share: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe('separate-consent only: share of the patients who gave it (default 1)'),
    granted: z
      .int()
      .min(1990)
      .max(2100)
      .optional()
      .describe('year it was granted, for a basis valid a limited time (a CAC security assessment: 3 years)'),
    hospitals: z
      .array(hospitalId)
      .min(1)
      .optional()
      .describe('hospitals whose patients it covers (default: every hospital of the country)'),
  })
  .describe('a legal basis the consortium has in place');

/** A rule of a custom policy, in the same terms as the presets' rules. */
const ruleSchema = z
  .strictObject({
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9.-]{0,47}$/, { error: 'expected letters, digits, dots and hyphens' })
      .describe('names the rule in records and violations'),
    says: z.string().min(1).max(200).describe('one line on what it requires'),
    cite: z.string().min(1).max(200).optional().describe('where the rule comes from'),
    leg: z
      .enum(['leave-hospital', 'leave-country'])
      .describe('leaving the hospital (to any coordinator) or leaving the country'),
    classes: z.array(dataClass).min(1).describe('classes it applies to'),
    anyOf: z
      .array(basisName)
      .default([])
      .describe('bases any one of which satisfies it; none: the classes may not take this leg at all'),
    peopleOver: z
      .int()
      .min(0)
      .optional()
      .describe('applies only once the exporter has sent data of more than this many people this year'),
    criticalInfrastructure: z
      .literal(true)
      .optional()
      .describe(
        'applies only to hospitals the policy lists as critical-information-infrastructure operators',
      ),
  })
  .describe('one rule of a policy');

/** One country's policy: a preset with its settings, or custom rules, and the bases in place there. */
const countryPolicySchema = z
  .strictObject({
    preset: z
      .enum(PRESET_NAMES)
      .describe('china, korea (illustrative models of their laws, not legal advice) or custom (rules only)'),
    parametersArePersonalData: z
      .boolean()
      .default(true)
      .describe(
        "presets: whether one hospital's parameters in the clear count as derived from sensitive personal information",
      ),
    histogramsArePersonalData: z
      .boolean()
      .default(true)
      .describe("presets: whether a hospital's score histogram counts as sensitive personal information"),
    aggregatesArePersonalData: z
      .boolean()
      .default(false)
      .describe(
        'presets: whether an aggregate of at least k hospitals in the clear counts as personal information',
      ),
    criticalInfrastructure: z
      .array(hospitalId)
      .default([])
      .describe('china: hospitals that operate critical information infrastructure (CSL art. 37)'),
    importantData: z
      .array(dataClass)
      .default([])
      .describe('china: classes the authorities designated important data (DSL art. 31)'),
    rules: z.array(ruleSchema).default([]).describe('rules added to the preset, or the whole custom policy'),
    bases: z
      .array(basisEntrySchema)
      .default([])
      .describe("bases in place for this country's patients, whatever the destination"),
  })
  .describe("one country's policy on what may leave its hospitals and its territory");

/** Where data may go, on which legal bases, for every country of the scenario. */
export const jurisdictionSchema = z
  .strictObject({
    year: z
      .int()
      .min(2000)
      .max(2100)
      .optional()
      .describe('the year the run is taken to happen in: decides whether a time-limited basis still holds'),
    aggregates: z
      .strictObject({
        minHospitals: z
          .int()
          .min(2)
          .max(1000)
          .default(3)
          .describe(
            'k: a model aggregated from fewer hospitals counts as per-hospital parameters (with two, each can subtract its own)',
          ),
        dpMaxEpsilon: z
          .number()
          .positive()
          .max(1000)
          .default(10)
          .describe(
            'x: an aggregate under client-level DP counts as aggregate-dp only with ε ≤ x (reserved)',
          ),
      })
      .default({ minHospitals: 3, dpMaxEpsilon: 10 }),
    countries: z
      .record(countryCode, countryPolicySchema)
      .describe('a policy for every country that has hospitals in the scenario'),
    transfers: z
      .array(
        z.strictObject({
          from: countryCode.describe('country whose patients the data derive from'),
          to: z
            .union([countryCode, z.literal('neutral')])
            .describe('country receiving them (neutral: a neutral coordinator site)'),
          bases: z.array(basisEntrySchema).min(1),
        }),
      )
      .default([])
      .describe('bases in place for data leaving one country for another'),
  })
  .describe(
    'jurisdiction policies: what may leave a hospital and a country, on which legal bases (illustrative, not legal advice)',
  );

/** The jurisdiction block of a scenario after defaults. */
export type JurisdictionConfig = z.output<typeof jurisdictionSchema>;
/** One country's policy after defaults. */
export type CountryPolicyConfig = JurisdictionConfig['countries'][string];
/** A basis in place, after defaults. */
export type BasisEntry = CountryPolicyConfig['bases'][number];
/** A custom rule, after defaults. */
export type RuleConfig = CountryPolicyConfig['rules'][number];

/** What the cross-field checks need of a scenario. */
interface ScenarioView {
  readonly jurisdiction?: JurisdictionConfig | undefined;
  readonly hospitals: readonly { readonly id: string; readonly country: string }[];
  readonly coordinator: { readonly site: string };
}

/**
 * Checks a jurisdiction block against the rest of the scenario: a policy for every country with hospitals,
 * none for a country without hospitals or coordinator, transfers between the scenario's places, bases of the
 * exporting country's law, hospitals of the right country, rule ids distinct, a year for time-limited grants.
 */
export function checkJurisdiction(s: ScenarioView, ctx: z.RefinementCtx): void {
  const j = s.jurisdiction;
  if (j === undefined) return;
  const issue = (path: readonly (string | number)[], message: string) =>
    ctx.addIssue({ code: 'custom', path: ['jurisdiction', ...path], message });
  const countries = new Set(s.hospitals.map((h) => h.country));
  const site = s.coordinator.site;
  const places = new Set([...countries, site]);
  const countryOf = new Map(s.hospitals.map((h) => [h.id, h.country]));
  for (const c of [...countries].sort()) {
    if (!Object.hasOwn(j.countries, c)) {
      const ids = s.hospitals.filter((h) => h.country === c).map((h) => h.id);
      issue(['countries'], `expected a policy for ${c}, the country of ${ids.join(', ')}`);
    }
  }
  const checkBases = (bases: readonly BasisEntry[], path: readonly (string | number)[], country: string) => {
    bases.forEach((b, i) => {
      const spec = BASES[b.basis];
      if (spec.law !== 'any' && spec.law !== country) {
        issue([...path, i, 'basis'], `${b.basis} is an instrument of ${spec.law} law, not of ${country}'s`);
      }
      if (b.share !== undefined && !('share' in spec)) {
        issue([...path, i, 'share'], `only separate-consent is declared for a share of patients`);
      }
      if (b.granted !== undefined && !('validYears' in spec)) {
        issue(
          [...path, i, 'granted'],
          `${b.basis} does not expire; only a time-limited basis has a grant year`,
        );
      }
      if (b.granted !== undefined && j.year === undefined) {
        issue(
          ['year'],
          `expected the year of the run, to decide whether ${b.basis} granted in ${b.granted} holds`,
        );
      }
      (b.hospitals ?? []).forEach((id, k) => {
        if (countryOf.get(id) !== country) {
          issue([...path, i, 'hospitals', k], `expected a hospital of ${country} (no such hospital "${id}")`);
        }
      });
    });
  };
  for (const [c, policy] of Object.entries(j.countries)) {
    if (!places.has(c)) {
      issue(['countries', c], `no hospital or coordinator of the scenario is in ${c}`);
      continue;
    }
    if (policy.preset !== 'china') {
      if (policy.criticalInfrastructure.length > 0) {
        issue(
          ['countries', c, 'criticalInfrastructure'],
          `the ${policy.preset} policy has no rule on critical-information-infrastructure operators (a china setting)`,
        );
      }
      if (policy.importantData.length > 0) {
        issue(
          ['countries', c, 'importantData'],
          `the ${policy.preset} policy has no rule on important data (a china setting)`,
        );
      }
    }
    policy.criticalInfrastructure.forEach((id, i) => {
      if (countryOf.get(id) !== c) {
        issue(
          ['countries', c, 'criticalInfrastructure', i],
          `expected a hospital of ${c} (no such hospital "${id}")`,
        );
      }
    });
    const ids = new Set(presetRuleIds(policy.preset));
    policy.rules.forEach((r, i) => {
      if (ids.has(r.id)) issue(['countries', c, 'rules', i, 'id'], `rule id "${r.id}" is already used`);
      ids.add(r.id);
    });
    checkBases(policy.bases, ['countries', c, 'bases'], c);
  }
  j.transfers.forEach((t, i) => {
    if (!countries.has(t.from)) {
      issue(
        ['transfers', i, 'from'],
        `expected a country with hospitals in the scenario (none in ${t.from})`,
      );
    }
    if (t.to === 'neutral' ? site !== 'neutral' : !places.has(t.to)) {
      issue(
        ['transfers', i, 'to'],
        `expected a country with hospitals or the coordinator in the scenario (none in ${t.to})`,
      );
    }
    if (t.from === t.to) issue(['transfers', i, 'to'], 'expected another country than from');
    checkBases(t.bases, ['transfers', i, 'bases'], t.from);
  });
}
