import type { CohortConfig } from '../../scenario/schema.ts';

/**
 * A hospital's patient population, fully resolved: every field of {@link CohortConfig} plus the spreads and
 * sex ratios that only a country profile sets.
 */
export interface ResolvedCohortProfile {
  /** Country code the profile was resolved for. */
  readonly country: string;
  readonly ageMean: number;
  readonly ageSd: number;
  readonly maleFraction: number;
  readonly bmiMean: number;
  /** Residual standard deviation of BMI after the sex effect, kg/m². */
  readonly bmiSd: number;
  readonly sbpMean: number;
  /** Residual standard deviation of systolic pressure after age, BMI and sex effects, mmHg. */
  readonly sbpSd: number;
  /** Mean fasting glucose, mg/dL (the distribution is log-normal, right-skewed). */
  readonly glucoseMean: number;
  /** Residual standard deviation of log fasting glucose. */
  readonly glucoseLogSd: number;
  readonly cholesterolMean: number;
  /** Residual standard deviation of total cholesterol, mg/dL. */
  readonly cholesterolSd: number;
  readonly currentSmokerRate: number;
  readonly formerSmokerRate: number;
  /** Ratio of the male to the female current-smoking rate. */
  readonly currentSmokerSexRatio: number;
  /** Ratio of the male to the female former-smoking rate. */
  readonly formerSmokerSexRatio: number;
  readonly riskAlleleFrequency: number;
  /** Expected share of patients who truly have the disease (before label noise). */
  readonly prevalence: number;
  /** Probability that a recorded label is flipped. */
  readonly labelNoise: number;
}

/** A rejected population profile; names the field, never a patient value. */
export class PopulationProfileError extends Error {
  override readonly name = 'PopulationProfileError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

type CountryProfile = Omit<ResolvedCohortProfile, 'country'>;

/*
 * Loosely sourced, rounded figures for adults attending hospital:
 * - KR: KNHANES VIII (2019–2021) means for BMI, SBP, fasting glucose and total cholesterol; smoking from
 *   KNHANES 2021 (men ≈31% current / ≈37% former, women ≈6% / ≈4%). Age is that of a hospital cohort.
 * - CN: China Chronic Disease and Risk Factor Surveillance 2018 and CHARLS (age 45+) for BMI, SBP, glucose,
 *   cholesterol; smoking from GATS China 2018 (men ≈50% current, women ≈2%).
 * - Risk allele: a marker locus whose frequency differs by population, in the spirit of ALDH2 rs671
 *   (≈0.15–0.2 in Korea, ≈0.2–0.3 in China, rare outside East Asia).
 * - Default: a generic high-income adult population (WHO STEPS/NHANES-like figures).
 */
const KR: CountryProfile = {
  ageMean: 54,
  ageSd: 15,
  maleFraction: 0.49,
  bmiMean: 24.0,
  bmiSd: 3.3,
  sbpMean: 119,
  sbpSd: 12,
  glucoseMean: 100,
  glucoseLogSd: 0.15,
  cholesterolMean: 193,
  cholesterolSd: 34,
  currentSmokerRate: 0.185,
  formerSmokerRate: 0.2,
  currentSmokerSexRatio: 4.8,
  formerSmokerSexRatio: 9,
  riskAlleleFrequency: 0.17,
  prevalence: 0.07,
  labelNoise: 0,
};

const CN: CountryProfile = {
  ageMean: 58,
  ageSd: 11,
  maleFraction: 0.48,
  bmiMean: 24.4,
  bmiSd: 3.4,
  sbpMean: 130,
  sbpSd: 13,
  glucoseMean: 101,
  glucoseLogSd: 0.16,
  cholesterolMean: 182,
  cholesterolSd: 33,
  currentSmokerRate: 0.253,
  formerSmokerRate: 0.053,
  currentSmokerSexRatio: 24,
  formerSmokerSexRatio: 10,
  riskAlleleFrequency: 0.27,
  prevalence: 0.09,
  labelNoise: 0,
};

const DEFAULT: CountryProfile = {
  ageMean: 52,
  ageSd: 16,
  maleFraction: 0.5,
  bmiMean: 26.5,
  bmiSd: 4.5,
  sbpMean: 124,
  sbpSd: 14,
  glucoseMean: 99,
  glucoseLogSd: 0.16,
  cholesterolMean: 195,
  cholesterolSd: 38,
  currentSmokerRate: 0.2,
  formerSmokerRate: 0.22,
  currentSmokerSexRatio: 1.5,
  formerSmokerSexRatio: 1.5,
  riskAlleleFrequency: 0.1,
  prevalence: 0.08,
  labelNoise: 0,
};

/** Country profiles fedmed knows; any other country code gets {@link DEFAULT_PROFILE}. */
export const COUNTRY_PROFILES: Readonly<Record<'KR' | 'CN', CountryProfile>> = { KR, CN };

/** The generic profile used for a country without its own. */
export const DEFAULT_PROFILE: CountryProfile = DEFAULT;

const OVERRIDABLE = [
  'ageMean',
  'ageSd',
  'maleFraction',
  'bmiMean',
  'sbpMean',
  'glucoseMean',
  'cholesterolMean',
  'currentSmokerRate',
  'formerSmokerRate',
  'riskAlleleFrequency',
  'prevalence',
  'labelNoise',
] as const satisfies readonly (keyof CohortConfig & keyof CountryProfile)[];

/** The country's profile with the hospital's overrides applied (overrides win). */
export function profileFor(country: string, overrides: CohortConfig): ResolvedCohortProfile {
  const base = country === 'KR' || country === 'CN' ? COUNTRY_PROFILES[country] : DEFAULT_PROFILE;
  const resolved: { -readonly [K in keyof ResolvedCohortProfile]: ResolvedCohortProfile[K] } = {
    country,
    ...base,
  };
  for (const key of OVERRIDABLE) {
    const v = overrides[key];
    if (v !== undefined) resolved[key] = v;
  }
  for (const [key, value] of Object.entries(resolved)) {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new PopulationProfileError(key, `${key}: expected a finite number`);
    }
  }
  checkFraction(resolved, 'maleFraction', 0, 1);
  checkFraction(resolved, 'currentSmokerRate', 0, 1);
  checkFraction(resolved, 'formerSmokerRate', 0, 1);
  checkFraction(resolved, 'riskAlleleFrequency', 0, 1);
  checkFraction(resolved, 'labelNoise', 0, 0.5);
  if (!(resolved.prevalence > 0 && resolved.prevalence < 1)) {
    throw new PopulationProfileError('prevalence', 'prevalence: expected a number strictly between 0 and 1');
  }
  if (!(resolved.ageSd > 0)) throw new PopulationProfileError('ageSd', 'ageSd: expected a positive number');
  if (resolved.currentSmokerRate + resolved.formerSmokerRate > 1) {
    throw new PopulationProfileError(
      'formerSmokerRate',
      'currentSmokerRate + formerSmokerRate: expected at most 1 (they are shares of the same patients)',
    );
  }
  return resolved;
}

function checkFraction(
  p: ResolvedCohortProfile,
  key: 'maleFraction' | 'currentSmokerRate' | 'formerSmokerRate' | 'riskAlleleFrequency' | 'labelNoise',
  lo: number,
  hi: number,
): void {
  if (!(p[key] >= lo && p[key] <= hi)) {
    throw new PopulationProfileError(key, `${key}: expected a number between ${lo} and ${hi}`);
  }
}

/**
 * Current- and former-smoking rates for men and women that keep the profile's overall rates and sex ratios
 * (a sex's rates are capped so that they sum to at most 1).
 */
export function smokingRatesBySex(p: ResolvedCohortProfile): {
  male: { current: number; former: number };
  female: { current: number; former: number };
} {
  const current = splitBySex(p.currentSmokerRate, p.maleFraction, p.currentSmokerSexRatio);
  const former = splitBySex(p.formerSmokerRate, p.maleFraction, p.formerSmokerSexRatio);
  return {
    male: { current: current.male, former: Math.min(former.male, 1 - current.male) },
    female: { current: current.female, former: Math.min(former.female, 1 - current.female) },
  };
}

function splitBySex(rate: number, male: number, ratio: number): { male: number; female: number } {
  let female = rate / (male * ratio + (1 - male));
  let m = ratio * female;
  if (m > 1) {
    m = 1;
    female = male < 1 ? Math.max(0, (rate - male) / (1 - male)) : 0;
  }
  return { male: Math.min(1, m), female: Math.min(1, female) };
}
