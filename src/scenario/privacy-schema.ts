import { z } from 'zod';

/** Strategies whose aggregate needs only sums of the hospitals' contributions, so they work under secure aggregation. */
export const SUM_STRATEGIES = [
  'fedavg',
  'fedprox',
  'fedavgm',
  'fedadam',
  'fedyogi',
  'fedadagrad',
  'fednova',
  'scaffold',
  'qfedavg',
] as const;

/** Strategies whose only sum is the weighted model update, which DP-FedAvg clips and noises. */
export const DP_STRATEGIES = ['fedavg', 'fedprox', 'fedavgm', 'fedadam', 'fedyogi', 'fedadagrad'] as const;

/** Secure aggregation (SecAgg, Bonawitz et al. 2017; SecAgg+, Bell et al. 2020). */
export const secureAggregationSchema = z
  .strictObject({
    threshold: z
      .number()
      .gt(0.5)
      .max(1)
      .default(2 / 3)
      .describe(
        "shares needed to rebuild a hospital's secrets, as a fraction of its group (the round's hospitals, or " +
          'itself and its k neighbours): t = ⌈threshold × group⌉ > group/2; a round survives group − t dropouts',
      ),
    neighbours: z
      .int()
      .min(2)
      .optional()
      .describe(
        "SecAgg+'s k: each hospital shares masks with k others on a random Harary graph (even, ≥ 2⌈log₂(n)/2⌉, " +
          '< n); absent: every hospital with every other',
      ),
    bits: z
      .int()
      .min(2)
      .max(32)
      .default(16)
      .describe(
        'bits per quantised value; bits + ⌈log₂(hospitals × maxWeight)⌉ must be ≤ 32 so that the sum cannot overflow',
      ),
    maxWeight: z
      .int()
      .min(1)
      .max(2 ** 30)
      .optional()
      .describe(
        'the largest integer weight of a hospital (its training examples, for strategies weighting by them); ' +
          'absent: the most patients a hospital can hold in this scenario (1 with differential privacy, ' +
          'whose weights are capped at 1)',
      ),
    range: z
      .number()
      .positive()
      .max(1e6)
      .default(1)
      .describe(
        "clipping range r of each value of a hospital's model update (local − global): values beyond ±r are " +
          'clipped; the quantisation step is r / (2^(bits−1) − 1)',
      ),
    controlRange: z
      .number()
      .positive()
      .max(1e6)
      .optional()
      .describe("clipping range of SCAFFOLD's control-variate updates; absent: range"),
    scalarRange: z
      .number()
      .positive()
      .max(1e9)
      .default(1000)
      .describe("clipping range of one-value sums (FedNova's local steps, q-FedAvg's denominator)"),
  })
  .describe('hospitals mask their quantised updates so that the coordinator learns only their sum');

/** Client-level differential privacy (DP-FedAvg, McMahan et al. 2018) with an RDP accountant. */
export const differentialPrivacySchema = z
  .strictObject({
    clipNorm: z.number().positive().max(1e6).describe("C: each hospital's update is clipped to this L2 norm"),
    noiseMultiplier: z
      .number()
      .positive()
      .max(1e3)
      .describe('z: Gaussian noise of standard deviation z·C is added to each coordinate of the sum'),
    sampleRate: z
      .number()
      .gt(0)
      .max(1)
      .describe(
        'q: each hospital takes part in a round independently with this probability (Poisson sampling)',
      ),
    weightCap: z
      .number()
      .positive()
      .optional()
      .describe("ŵ: a hospital's weight is min(examples / ŵ, 1); absent: every weight is 1"),
    delta: z
      .number()
      .gt(0)
      .lt(1)
      .default(1e-5)
      .describe('δ of the (ε, δ) guarantee reported after each round'),
    budget: z
      .strictObject({ epsilon: z.number().positive().describe('most ε the run may spend, at delta') })
      .optional()
      .describe('the run stops before the round that would spend more'),
  })
  .describe("the coordinator adds noise to the clipped sum; each round's ε is reported");

/** Sample-level DP-SGD inside each hospital (Abadi et al. 2016), with a per-hospital RDP accountant. */
export const dpSgdSchema = z
  .strictObject({
    clipNorm: z
      .number()
      .positive()
      .max(1e6)
      .describe("C: each patient's gradient is clipped to this L2 norm before the minibatch sum"),
    noiseMultiplier: z
      .number()
      .positive()
      .max(1e3)
      .describe('z: Gaussian noise of standard deviation z·C is added to each coordinate of the sum'),
    sampleRate: z
      .number()
      .min(1e-4, {
        error: 'expected at least 1e-4: an epoch is round(1/q) minibatches, so a smaller q never ends',
      })
      .max(1)
      .describe(
        "q: each minibatch takes each of the hospital's training patients independently with this probability " +
          '(Poisson sampling, which the accountant assumes); an epoch is round(1/q) minibatches (at most 10,000)',
      ),
    delta: z.number().gt(0).lt(1).default(1e-5).describe('δ at which each hospital reports its ε'),
    budget: z
      .strictObject({ epsilon: z.number().positive().describe('most ε a hospital may spend, at delta') })
      .optional()
      .describe('a hospital declines (recorded) every round that would take it past this ε'),
  })
  .describe("each hospital's local training clips every patient's gradient and adds noise; ε per hospital");

/** A scenario's privacy settings; absent parts are off. */
export const privacySchema = z
  .strictObject({
    secureAggregation: secureAggregationSchema.optional(),
    differentialPrivacy: differentialPrivacySchema.optional(),
    dpSgd: dpSgdSchema.optional(),
  })
  .describe('secure aggregation and client-level differential privacy');

/** The privacy block after validation. */
export type PrivacyConfig = z.output<typeof privacySchema>;
/** Secure-aggregation settings after validation. */
export type SecureAggregationConfig = NonNullable<PrivacyConfig['secureAggregation']>;
/** Differential-privacy settings after validation. */
export type DifferentialPrivacyConfig = NonNullable<PrivacyConfig['differentialPrivacy']>;
/** Sample-level DP-SGD settings after validation. */
export type DpSgdConfig = NonNullable<PrivacyConfig['dpSgd']>;

/** What the cross-field checks read of a scenario. */
interface PrivacyContext {
  readonly privacy?: PrivacyConfig | undefined;
  readonly strategy: { readonly name: string; readonly fractionFit: number };
  readonly faults?: readonly { readonly behaviour: string }[] | undefined;
  readonly backend?: string;
  readonly model?: { readonly kind: string };
}

/** Faults that act on a secure round: its own stages, or a hospital that throws, hangs, crashes, declines or is slow. */
const SECURE_FAULTS: ReadonlySet<string> = new Set(['throw', 'hang', 'crash', 'drop', 'slow']);

/**
 * Cross-field checks of the privacy block: a strategy that needs individual updates cannot run under secure
 * aggregation (a custom module is checked once loaded); differential privacy needs secure aggregation, a
 * strategy whose only sum is the update, and Poisson sampling (fractionFit 1), which its accountant assumes.
 */
export function privacyIssues(s: PrivacyContext): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const { secureAggregation: sa, differentialPrivacy: dp } = s.privacy ?? {};
  const name = s.strategy.name;
  (s.faults ?? []).forEach(({ behaviour }, i) => {
    const secaggFault = behaviour.startsWith('secagg-');
    if (secaggFault && sa === undefined) {
      issues.push({
        path: ['faults', i, 'behaviour'],
        message: `${behaviour} acts on a secure-aggregation round: add privacy.secureAggregation`,
      });
    } else if (!secaggFault && sa !== undefined && !SECURE_FAULTS.has(behaviour)) {
      issues.push({
        path: ['faults', i, 'behaviour'],
        message:
          `${behaviour} breaks a fit reply in the clear, which privacy.secureAggregation never sends; ` +
          'expected throw, hang, crash, drop, slow or a secagg- fault',
      });
    }
  });
  if (sa !== undefined && name !== 'custom' && !(SUM_STRATEGIES as readonly string[]).includes(name)) {
    issues.push({
      path: ['strategy', 'name'],
      message:
        `strategy ${name} needs each hospital's own update, which privacy.secureAggregation hides from the ` +
        `coordinator; expected one that needs only sums (${SUM_STRATEGIES.join(', ')})`,
    });
  }
  issues.push(...dpSgdIssues(s));
  if (dp !== undefined) {
    if (sa === undefined) {
      issues.push({
        path: ['privacy', 'differentialPrivacy'],
        message: 'differential privacy here runs on secure aggregation: add privacy.secureAggregation',
      });
    }
    if (!(DP_STRATEGIES as readonly string[]).includes(name)) {
      issues.push({
        path: ['strategy', 'name'],
        message:
          `strategy ${name} with privacy.differentialPrivacy: expected one whose only sum is the model update ` +
          `(${DP_STRATEGIES.join(', ')}); other sums would need noise of their own`,
      });
    }
    if (s.strategy.fractionFit !== 1) {
      issues.push({
        path: ['strategy', 'fractionFit'],
        message:
          'expected 1 with privacy.differentialPrivacy: hospitals are Poisson-sampled at its sampleRate, which ' +
          "the accountant assumes; fixed-size sampling's ε would not be covered",
      });
    }
  }
  return issues;
}

/** Backends whose trainer clips per patient (the fused engine); tfjs's would have to fake it. */
const DP_SGD_BACKENDS: ReadonlySet<string> = new Set(['js', 'js-f32', 'auto']);

/** DP-SGD runs in the fused trainer on dense models, and not (yet) under secure aggregation. */
function dpSgdIssues(s: PrivacyContext): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  if (s.privacy?.dpSgd === undefined) return issues;
  if (s.backend !== undefined && !DP_SGD_BACKENDS.has(s.backend)) {
    issues.push({
      path: ['backend'],
      message:
        `expected js or js-f32 with privacy.dpSgd: per-patient gradient clipping runs in fedmed's fused ` +
        `trainer only (the tfjs trainer of ${s.backend} computes minibatch gradients)`,
    });
  }
  if (s.model !== undefined && s.model.kind === 'cnn') {
    issues.push({
      path: ['model', 'kind'],
      message: 'expected logistic or mlp with privacy.dpSgd: per-patient clipping covers dense models',
    });
  }
  if (s.privacy.secureAggregation !== undefined) {
    issues.push({
      path: ['privacy', 'dpSgd'],
      message: 'privacy.dpSgd with privacy.secureAggregation is not supported yet: use one of them',
    });
  }
  return issues;
}
