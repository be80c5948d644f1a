import { stream } from '../../common/rng.ts';
import type { Rng } from '../../common/rng.ts';
import { COHORT_FEATURES } from '../../protocol/cdm.ts';
import type { HospitalConfig } from '../../scenario/schema.ts';
import {
  PopulationProfileError,
  profileFor,
  smokingRatesBySex,
  type ResolvedCohortProfile,
} from './populations.ts';

/** One hospital's synthetic patients: raw values in common-data-model units and order, and labels. */
export interface Cohort {
  readonly n: number;
  /** `n × 9` raw values, row-major, in the order of {@link COHORT_FEATURES}. */
  readonly features: Float32Array;
  /** `n` recorded labels (0 or 1), label noise included. */
  readonly labels: Uint8Array;
}

/** A cohort that cannot be generated; names the hospital and field, never a patient value. */
export class CohortError extends Error {
  override readonly name = 'CohortError';
  constructor(
    readonly hospital: string,
    readonly field: string,
    message: string,
  ) {
    super(`hospital ${hospital}: ${message}`);
  }
}

/**
 * The hospital's population profile. A rate the hospital sets can clash with one it takes from its country
 * (smoking rates summing above 1); the error names the hospital and the fields as `cohort.<field>`.
 */
function profileOf(hospital: HospitalConfig): ResolvedCohortProfile {
  try {
    return profileFor(hospital.country, hospital.cohort);
  } catch (e) {
    if (!(e instanceof PopulationProfileError)) throw e;
    const own = Object.keys(hospital.cohort).filter((k) => e.message.includes(k));
    const origin =
      own.length === 0 ? '' : `; the hospital sets ${own.join(', ')}, the rest is ${hospital.country}'s`;
    throw new CohortError(hospital.id, e.field, `cohort.${e.message}${origin}`);
  }
}

/** Number of raw features per patient. */
export const NUM_FEATURES = COHORT_FEATURES.length;

const AGE = 0;
const MALE = 1;
const BMI = 2;
const SBP = 3;
const GLUCOSE = 4;
const CHOLESTEROL = 5;
const FORMER = 6;
const CURRENT = 7;
const ALLELES = 8;

const LAYOUT = [
  'age',
  'sex_male',
  'bmi',
  'sbp',
  'glucose',
  'cholesterol',
  'smoking_former',
  'smoking_current',
  'risk_alleles',
];
if (COHORT_FEATURES.map((f) => f.name).join() !== LAYOUT.join()) {
  throw new Error(
    'the cohort generator does not match the common data model; update src/clients/data/cohort.ts',
  );
}

/** Physiologically plausible ranges that generated values are clamped to. */
export const PLAUSIBLE_RANGES = {
  age: [18, 95],
  bmi: [14, 60],
  sbp: [80, 240],
  glucose: [50, 400],
  cholesterol: [100, 400],
} as const satisfies Record<string, readonly [number, number]>;

/**
 * The disease mechanism shared by every hospital: log-odds per unit of each raw feature (centred on the CDM
 * reference), a threshold effect of glucose above the diabetic cut-off, and a gene–environment interaction
 * of risk alleles with current smoking. Only the intercept is set per hospital, to match its prevalence.
 */
export const DISEASE_MECHANISM = {
  agePerYear: 0.05,
  male: 0.25,
  bmiPerUnit: 0.06,
  sbpPerMmHg: 0.012,
  glucosePerMgDl: 0.01,
  glucoseThreshold: 126,
  glucoseAboveThresholdPerMgDl: 0.03,
  cholesterolPerMgDl: 0.005,
  formerSmoker: 0.3,
  currentSmoker: 0.55,
  perRiskAllele: 0.3,
  perRiskAlleleIfCurrentSmoker: 0.45,
} as const;

const BMI_MALE_EFFECT = 1.0;
const SBP_PER_YEAR = 0.45;
const SBP_PER_BMI = 1.1;
const SBP_MALE_EFFECT = 5;
const LOG_GLUCOSE_PER_BMI = 0.012;
const LOG_GLUCOSE_PER_YEAR = 0.003;
const CHOLESTEROL_PER_YEAR = 0.25;
const CHOLESTEROL_PER_BMI = 1.2;

/**
 * Generates a hospital's cohort from the stream `seed/data/<hospital id>` alone, so it depends on nothing but
 * the seed and this hospital's own configuration. The expected share of true cases equals the profile's
 * prevalence; each recorded label is then flipped with probability `labelNoise`. A site's `measurement`
 * settings then perturb only the recorded bmi, sbp, glucose and cholesterol, from their own streams
 * `seed/measurement/<hospital id>/<feature>`; the disease is drawn from the true values.
 */
export function generateCohort(hospital: HospitalConfig, seed: number): Cohort {
  const n = hospital.patients;
  if (!Number.isInteger(n) || n < 1) {
    throw new CohortError(hospital.id, 'patients', 'patients: expected a positive integer');
  }
  const profile = profileOf(hospital);
  const rng = stream(seed, 'data', hospital.id);
  const features = new Float32Array(n * NUM_FEATURES);
  const eta = new Float64Array(n);
  generateFeatures(profile, rng, features, eta);
  const intercept = interceptForPrevalence(eta, profile.prevalence);
  const labels = new Uint8Array(n);
  const noise = profile.labelNoise;
  for (let i = 0; i < n; i++) {
    const p = sigmoid(intercept + eta[i]!);
    const diseased = rng.next() < p;
    const flipped = rng.next() < noise;
    labels[i] = diseased !== flipped ? 1 : 0;
  }
  const measurement = hospital.cohort.measurement;
  if (measurement !== undefined) applyMeasurement(hospital.id, measurement, seed, features);
  return { n, features, labels };
}

type Measured = keyof NonNullable<HospitalConfig['cohort']['measurement']>;

const MEASURED: readonly { name: Measured; column: number; decimals: 0 | 1 }[] = [
  { name: 'bmi', column: BMI, decimals: 1 },
  { name: 'sbp', column: SBP, decimals: 0 },
  { name: 'glucose', column: GLUCOSE, decimals: 0 },
  { name: 'cholesterol', column: CHOLESTEROL, decimals: 0 },
];

/**
 * A site's devices: each configured feature's recorded value becomes `true + offset + sd·z`, clamped to the
 * plausible range at the recording precision. Runs after the labels are drawn, so the disease stays a
 * function of the true values. Each feature's noise comes from its own stream
 * `seed/measurement/<hospital id>/<feature>`, so one feature's settings never change another's values.
 */
function applyMeasurement(
  hospitalId: string,
  measurement: NonNullable<HospitalConfig['cohort']['measurement']>,
  seed: number,
  out: Float32Array,
): void {
  for (const { name, column, decimals } of MEASURED) {
    const setting = measurement[name];
    if (setting === undefined) continue;
    const { offset, sd } = setting;
    if (!Number.isFinite(offset)) {
      throw new CohortError(
        hospitalId,
        `measurement.${name}.offset`,
        `measurement.${name}.offset: expected a finite number`,
      );
    }
    if (!(Number.isFinite(sd) && sd >= 0)) {
      throw new CohortError(
        hospitalId,
        `measurement.${name}.sd`,
        `measurement.${name}.sd: expected a finite number ≥ 0`,
      );
    }
    if (offset === 0 && sd === 0) continue;
    const rng = stream(seed, 'measurement', hospitalId, name);
    const [lo, hi] = PLAUSIBLE_RANGES[name];
    const round = decimals === 1 ? round1 : Math.round;
    for (let o = column; o < out.length; o += NUM_FEATURES) {
      const noise = sd > 0 ? sd * rng.normal() : 0;
      out[o] = round(clamp(out[o]! + offset + noise, lo, hi));
    }
  }
}

function generateFeatures(p: ResolvedCohortProfile, rng: Rng, out: Float32Array, eta: Float64Array): void {
  const n = eta.length;
  const smoking = smokingRatesBySex(p);
  const bmiTotalVar = p.bmiSd ** 2 + BMI_MALE_EFFECT ** 2 * p.maleFraction * (1 - p.maleFraction);
  const logGlucoseVar =
    LOG_GLUCOSE_PER_BMI ** 2 * bmiTotalVar + LOG_GLUCOSE_PER_YEAR ** 2 * p.ageSd ** 2 + p.glucoseLogSd ** 2;
  const logGlucoseCentre = Math.log(p.glucoseMean) - logGlucoseVar / 2;
  const q = p.riskAlleleFrequency;
  const m = DISEASE_MECHANISM;
  const [ageLo, ageHi] = PLAUSIBLE_RANGES.age;
  const [bmiLo, bmiHi] = PLAUSIBLE_RANGES.bmi;
  const [sbpLo, sbpHi] = PLAUSIBLE_RANGES.sbp;
  const [gluLo, gluHi] = PLAUSIBLE_RANGES.glucose;
  const [cholLo, cholHi] = PLAUSIBLE_RANGES.cholesterol;

  for (let i = 0, o = 0; i < n; i++, o += NUM_FEATURES) {
    const male = rng.next() < p.maleFraction ? 1 : 0;
    const sexDev = male - p.maleFraction;
    const age = Math.round(clamp(p.ageMean + p.ageSd * rng.normal(), ageLo, ageHi));
    const ageDev = age - p.ageMean;
    const bmi = round1(clamp(p.bmiMean + BMI_MALE_EFFECT * sexDev + p.bmiSd * rng.normal(), bmiLo, bmiHi));
    const bmiDev = bmi - p.bmiMean;
    const sbp = Math.round(
      clamp(
        p.sbpMean +
          SBP_PER_YEAR * ageDev +
          SBP_PER_BMI * bmiDev +
          SBP_MALE_EFFECT * sexDev +
          p.sbpSd * rng.normal(),
        sbpLo,
        sbpHi,
      ),
    );
    const glucose = Math.round(
      clamp(
        Math.exp(
          logGlucoseCentre +
            LOG_GLUCOSE_PER_BMI * bmiDev +
            LOG_GLUCOSE_PER_YEAR * ageDev +
            p.glucoseLogSd * rng.normal(),
        ),
        gluLo,
        gluHi,
      ),
    );
    const cholesterol = Math.round(
      clamp(
        p.cholesterolMean +
          CHOLESTEROL_PER_YEAR * ageDev +
          CHOLESTEROL_PER_BMI * bmiDev +
          p.cholesterolSd * rng.normal(),
        cholLo,
        cholHi,
      ),
    );
    const rates = male === 1 ? smoking.male : smoking.female;
    const u = rng.next();
    const current = u < rates.current ? 1 : 0;
    const former = current === 0 && u < rates.current + rates.former ? 1 : 0;
    const alleles = (rng.next() < q ? 1 : 0) + (rng.next() < q ? 1 : 0);

    out[o + AGE] = age;
    out[o + MALE] = male;
    out[o + BMI] = bmi;
    out[o + SBP] = sbp;
    out[o + GLUCOSE] = glucose;
    out[o + CHOLESTEROL] = cholesterol;
    out[o + FORMER] = former;
    out[o + CURRENT] = current;
    out[o + ALLELES] = alleles;

    // From the stored (float32) values, so the mechanism is an exact function of the recorded features.
    eta[i] =
      m.agePerYear * (age - 55) +
      m.male * male +
      m.bmiPerUnit * (out[o + BMI]! - 24) +
      m.sbpPerMmHg * (sbp - 125) +
      m.glucosePerMgDl * (glucose - 100) +
      m.glucoseAboveThresholdPerMgDl * Math.max(0, glucose - m.glucoseThreshold) +
      m.cholesterolPerMgDl * (cholesterol - 195) +
      m.formerSmoker * former +
      m.currentSmoker * current +
      (m.perRiskAllele + m.perRiskAlleleIfCurrentSmoker * current) * alleles;
  }
}

/** The intercept `b` with mean(sigmoid(b + eta)) = prevalence, found by bisection. */
export function interceptForPrevalence(eta: Float64Array, prevalence: number): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < eta.length; i++) {
    const e = eta[i]!;
    if (e < lo) lo = e;
    if (e > hi) hi = e;
  }
  // At b = -max(eta) - 40 every probability is below e^-40; at b = -min(eta) + 40 every one is above 1 - e^-40.
  let bLo = -hi - 40;
  let bHi = -lo + 40;
  for (let iter = 0; iter < 100 && bHi - bLo > 1e-10; iter++) {
    const mid = (bLo + bHi) / 2;
    let sum = 0;
    for (let i = 0; i < eta.length; i++) sum += sigmoid(mid + eta[i]!);
    if (sum / eta.length < prevalence) bLo = mid;
    else bHi = mid;
  }
  return (bLo + bHi) / 2;
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
