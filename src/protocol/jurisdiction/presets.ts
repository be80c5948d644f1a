import type { CountryPolicyConfig } from '../../scenario/jurisdiction-schema.ts';
import type { DataClass } from '../kinds.ts';
import type { Rule } from './rule.ts';

/** The policies fedmed models, and `custom` for a policy of the scenario's own rules. */
export const PRESET_NAMES = ['china', 'korea', 'custom'] as const;
/** A preset's name. */
export type PresetName = (typeof PRESET_NAMES)[number];

/** What a preset's rules depend on. */
type PresetSettings = Pick<
  CountryPolicyConfig,
  'parametersArePersonalData' | 'histogramsArePersonalData' | 'aggregatesArePersonalData' | 'importantData'
>;

/** Patients' records: health data and genotypes, sensitive personal information under both laws. */
const RECORDS: readonly DataClass[] = ['personal-records', 'genetic-information'];

/**
 * The classes a preset treats as (derived from) sensitive personal information: records always; per-hospital
 * parameters, score histograms and plain aggregates as the settings say. Masked parameters and DP aggregates
 * of at least k hospitals never; metrics, subgroup metrics of at least minSubgroupSize patients, setup and
 * error reports never.
 */
export function personalClasses(s: PresetSettings): DataClass[] {
  return [
    ...RECORDS,
    ...(s.parametersArePersonalData ? (['parameters-clear'] as const) : []),
    ...(s.aggregatesArePersonalData ? (['aggregate-model'] as const) : []),
    ...(s.histogramsArePersonalData ? (['score-histogram'] as const) : []),
  ];
}

/** China's rules, an illustrative model of the CSL, DSL, PIPL, the 2024 Provisions and the HGR Regulation. */
function china(s: PresetSettings): Rule[] {
  const personal = personalClasses(s);
  const important = s.importantData;
  return [
    {
      id: 'CN-PIPL-23',
      says: 'personal information provided to another processor needs separate consent, or an entrustment',
      cite: 'PIPL art. 23 and 29 (separate consent for sensitive information), art. 21 (entrusted processing)',
      leg: 'leave-hospital',
      classes: personal,
      anyOf: ['separate-consent', 'entrusted-processing'],
    },
    {
      id: 'CN-PIPL-38',
      says: 'personal information provided abroad needs a CAC security assessment, a certification or the CAC standard contract',
      cite: 'PIPL art. 38',
      leg: 'leave-country',
      classes: personal,
      anyOf: ['cac-security-assessment', 'pi-protection-certification', 'cac-standard-contract'],
    },
    {
      id: 'CN-PIPL-39',
      says: 'personal information provided abroad needs the separate consent of each person',
      cite: 'PIPL art. 39',
      leg: 'leave-country',
      classes: personal,
      anyOf: ['separate-consent'],
    },
    {
      id: 'CN-CBDF-SENSITIVE-10000',
      says: 'a processor exporting sensitive personal information of more than 10,000 people since 1 January needs a security assessment',
      cite: 'Provisions on Promoting and Regulating Cross-Border Data Flows (2024); PIPL art. 40',
      leg: 'leave-country',
      classes: personal,
      anyOf: ['cac-security-assessment'],
      peopleOver: 10_000,
    },
    {
      id: 'CN-CSL-37',
      says: 'an operator of critical information infrastructure exports personal information or important data only after a security assessment',
      cite: 'Cybersecurity Law art. 37; PIPL art. 40',
      leg: 'leave-country',
      classes: [...new Set([...personal, ...important])],
      anyOf: ['cac-security-assessment'],
      criticalInfrastructure: true,
    },
    ...(important.length === 0
      ? []
      : [
          {
            id: 'CN-DSL-31',
            says: 'important data leaves China only after a security assessment',
            cite: 'Data Security Law art. 31; Provisions on Cross-Border Data Flows (2024)',
            leg: 'leave-country' as const,
            classes: important,
            anyOf: ['cac-security-assessment' as const],
          },
        ]),
    {
      id: 'CN-HGR',
      says: 'human genetic resources information leaves China only with approval or filing',
      cite: 'Regulation on Human Genetic Resources (2019)',
      leg: 'leave-country',
      classes: ['genetic-information'],
      anyOf: ['hgr-approval', 'hgr-filing'],
    },
  ];
}

/** Korea's rules, an illustrative model of PIPA. */
function korea(s: PresetSettings): Rule[] {
  const personal = personalClasses(s);
  return [
    {
      id: 'KR-PIPA-17',
      says: 'personal information provided to a third party needs separate consent for sensitive information, or an entrustment',
      cite: 'PIPA art. 17 and 23 (sensitive information), art. 26 (entrusted processing)',
      leg: 'leave-hospital',
      classes: personal,
      anyOf: ['separate-consent', 'entrusted-processing'],
    },
    {
      id: 'KR-PIPA-28-8',
      says: 'personal information goes abroad on separate consent, a law or treaty, a contract with the person, a certified recipient or an adequate country',
      cite: 'PIPA art. 28-8(1)',
      leg: 'leave-country',
      classes: personal,
      anyOf: [
        'separate-consent',
        'law-or-treaty',
        'contract-necessity',
        'pipc-certification',
        'pipc-adequacy',
      ],
    },
  ];
}

/** The rules of a country's policy: its preset's (under its settings) followed by its own. */
export function policyRules(policy: CountryPolicyConfig): Rule[] {
  const preset = policy.preset === 'china' ? china(policy) : policy.preset === 'korea' ? korea(policy) : [];
  return [...preset, ...policy.rules];
}

/** Every id a preset's rules may take, whatever its settings. */
export function presetRuleIds(name: PresetName): string[] {
  const all: PresetSettings = {
    parametersArePersonalData: true,
    histogramsArePersonalData: true,
    aggregatesArePersonalData: true,
    importantData: ['evaluation-metrics'],
  };
  return (name === 'china' ? china(all) : name === 'korea' ? korea(all) : []).map((r) => r.id);
}
