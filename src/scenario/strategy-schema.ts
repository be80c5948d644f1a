import { z } from 'zod';

/** The range and default of one numeric strategy parameter; scenarios and constructors check the same spec. */
export interface ParameterSpec {
  readonly description: string;
  /** Whole numbers only. */
  readonly integer?: boolean;
  readonly min: number;
  /** `min` itself is not allowed. */
  readonly minExclusive?: boolean;
  readonly max?: number;
  /** `max` itself is not allowed. */
  readonly maxExclusive?: boolean;
  /** Value when a scenario leaves the parameter out; absent: the parameter is optional and has no fixed default. */
  readonly default?: number;
}

/** Whether `value` is a finite number inside the spec's range. */
export function inRange(value: number, spec: ParameterSpec): boolean {
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  if (spec.integer === true && !Number.isInteger(value)) return false;
  if (spec.minExclusive === true ? !(value > spec.min) : !(value >= spec.min)) return false;
  if (spec.max === undefined) return true;
  return spec.maxExclusive === true ? value < spec.max : value <= spec.max;
}

/** The spec's range in words, such as `in [0, 1)` or `an integer ≥ 0`. */
export function describeRange(spec: ParameterSpec): string {
  const kind = spec.integer === true ? 'an integer ' : '';
  if (spec.max === undefined) return `${kind}${spec.minExclusive === true ? '>' : '≥'} ${spec.min}`;
  const open = spec.minExclusive === true ? '(' : '[';
  const close = spec.maxExclusive === true ? ')' : ']';
  return `${kind}in ${open}${spec.min}, ${spec.max}${close}`;
}

const unitOpen = { min: 0, max: 1, maxExclusive: true } as const;
const positive = { min: 0, minExclusive: true } as const;
/** A step size: beyond 1000 a single server step can only overflow float32 parameters. */
const stepSize = { ...positive, max: 1_000 } as const;

/** Every strategy's numeric parameters: range, default and meaning. The single source for schema and constructors. */
export const STRATEGY_PARAMETERS = {
  common: {
    fractionFit: {
      ...positive,
      max: 1,
      default: 1,
      description: 'share of hospitals sampled for training per round',
    },
    fractionEvaluate: {
      ...positive,
      max: 1,
      default: 1,
      description: 'share of hospitals sampled for evaluation',
    },
  },
  fedavgm: {
    serverLearningRate: {
      ...stepSize,
      default: 1,
      description: 'server learning rate η applied to the update',
    },
    serverMomentum: { ...unitOpen, default: 0, description: 'server momentum β' },
  },
  fedadam: {
    eta: { ...stepSize, default: 1e-1, description: 'server learning rate η' },
    etaL: {
      ...stepSize,
      description: "client learning rate η_l; absent: the scenario's training.learningRate",
    },
    beta1: { ...unitOpen, default: 0.9, description: 'first-moment decay β₁' },
    beta2: { ...unitOpen, default: 0.99, description: 'second-moment decay β₂' },
    tau: {
      ...positive,
      max: 1_000,
      default: 1e-9,
      description: 'adaptivity τ: added to √v, and v starts at τ²',
    },
  },
  fedyogi: {
    eta: { ...stepSize, default: 1e-2, description: 'server learning rate η' },
    etaL: {
      ...stepSize,
      description: "client learning rate η_l; absent: the scenario's training.learningRate",
    },
    beta1: { ...unitOpen, default: 0.9, description: 'first-moment decay β₁' },
    beta2: { ...unitOpen, default: 0.99, description: 'second-moment decay β₂' },
    tau: {
      ...positive,
      max: 1_000,
      default: 1e-3,
      description: 'adaptivity τ: added to √v, and v starts at τ²',
    },
  },
  fedadagrad: {
    eta: { ...stepSize, default: 1e-1, description: 'server learning rate η' },
    etaL: {
      ...stepSize,
      description: "client learning rate η_l; absent: the scenario's training.learningRate",
    },
    beta1: { ...unitOpen, default: 0, description: 'first-moment decay β₁ (0: no server momentum)' },
    tau: {
      ...positive,
      max: 1_000,
      default: 1e-9,
      description: 'adaptivity τ: added to √v, and v starts at τ²',
    },
  },
  fedtrimmedavg: {
    beta: {
      ...unitOpen,
      max: 0.5,
      default: 0.2,
      description: 'share of values cut from each end, per coordinate',
    },
  },
  krum: {
    f: { integer: true, min: 0, default: 0, description: 'Byzantine clients tolerated; needs n ≥ 2f + 3' },
  },
  multikrum: {
    f: { integer: true, min: 0, default: 0, description: 'Byzantine clients tolerated; needs n ≥ 2f + 3' },
    m: {
      integer: true,
      min: 1,
      description: 'clients selected and averaged, at most n − f; absent: n − f',
    },
  },
  bulyan: {
    f: { integer: true, min: 0, default: 0, description: 'Byzantine clients tolerated; needs n ≥ 4f + 3' },
  },
  fedprox: {
    proximalMu: {
      min: 0,
      max: 1_000_000,
      default: 0.01,
      description: 'proximal coefficient μ: local loss + (μ/2)·‖w − w_global‖²; 0 is FedAvg',
    },
  },
  scaffold: {
    serverLearningRate: {
      ...stepSize,
      default: 1,
      description: 'server learning rate η_g on the mean update',
    },
  },
  qfedavg: {
    q: {
      min: 0,
      max: 100,
      default: 0.2,
      description: 'fairness q: 0 is an unweighted mean, larger favours worse-off clients',
    },
  },
} as const satisfies Record<string, Record<string, ParameterSpec>>;

function bounded(spec: ParameterSpec, name: string): z.ZodNumber {
  const error = `${name} must be ${describeRange(spec)}`;
  let s: z.ZodNumber = spec.integer === true ? z.int({ error }) : z.number({ error });
  s = spec.minExclusive === true ? s.gt(spec.min, { error }) : s.min(spec.min, { error });
  if (spec.max !== undefined)
    s = spec.maxExclusive === true ? s.lt(spec.max, { error }) : s.max(spec.max, { error });
  return s;
}

function withDefault(spec: ParameterSpec & { readonly default: number }, name: string) {
  return bounded(spec, name).default(spec.default).describe(spec.description);
}

function optional(spec: ParameterSpec, name: string) {
  return bounded(spec, name).optional().describe(spec.description);
}

/** Deepest nesting of a custom strategy's options: deeper JSON would overflow the stack of recursive code. */
export const MAX_OPTION_DEPTH = 32;

/** Whether a JSON value nests objects or arrays more than `limit` levels deep (walked without recursion). */
function nestedDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

const P = STRATEGY_PARAMETERS;
const common = {
  fractionFit: withDefault(P.common.fractionFit, 'fractionFit'),
  fractionEvaluate: withDefault(P.common.fractionEvaluate, 'fractionEvaluate'),
};

/** The aggregation strategy and its parameters. */
export const strategySchema = z.discriminatedUnion('name', [
  z
    .strictObject({ name: z.literal('fedavg'), ...common })
    .describe('FedAvg: example-weighted mean of client parameters (McMahan et al., 2017)'),
  z
    .strictObject({
      name: z.literal('fedavgm'),
      ...common,
      serverLearningRate: withDefault(P.fedavgm.serverLearningRate, 'serverLearningRate'),
      serverMomentum: withDefault(P.fedavgm.serverMomentum, 'serverMomentum'),
    })
    .describe('FedAvgM: FedAvg with server momentum (Hsu et al., 2019)'),
  z
    .strictObject({
      name: z.literal('fedadam'),
      ...common,
      eta: withDefault(P.fedadam.eta, 'eta'),
      etaL: optional(P.fedadam.etaL, 'etaL'),
      beta1: withDefault(P.fedadam.beta1, 'beta1'),
      beta2: withDefault(P.fedadam.beta2, 'beta2'),
      tau: withDefault(P.fedadam.tau, 'tau'),
    })
    .describe('FedAdam: Adam on the server over the mean client update (Reddi et al., 2021)'),
  z
    .strictObject({
      name: z.literal('fedyogi'),
      ...common,
      eta: withDefault(P.fedyogi.eta, 'eta'),
      etaL: optional(P.fedyogi.etaL, 'etaL'),
      beta1: withDefault(P.fedyogi.beta1, 'beta1'),
      beta2: withDefault(P.fedyogi.beta2, 'beta2'),
      tau: withDefault(P.fedyogi.tau, 'tau'),
    })
    .describe('FedYogi: Yogi on the server over the mean client update (Reddi et al., 2021)'),
  z
    .strictObject({
      name: z.literal('fedadagrad'),
      ...common,
      eta: withDefault(P.fedadagrad.eta, 'eta'),
      etaL: optional(P.fedadagrad.etaL, 'etaL'),
      beta1: withDefault(P.fedadagrad.beta1, 'beta1'),
      tau: withDefault(P.fedadagrad.tau, 'tau'),
    })
    .describe('FedAdagrad: Adagrad on the server over the mean client update (Reddi et al., 2021)'),
  z
    .strictObject({ name: z.literal('fedmedian'), ...common })
    .describe('FedMedian: coordinate-wise median of client parameters (Yin et al., 2018)'),
  z
    .strictObject({
      name: z.literal('fedtrimmedavg'),
      ...common,
      beta: withDefault(P.fedtrimmedavg.beta, 'beta'),
    })
    .describe('FedTrimmedAvg: coordinate-wise trimmed mean of client parameters (Yin et al., 2018)'),
  z
    .strictObject({ name: z.literal('krum'), ...common, f: withDefault(P.krum.f, 'f') })
    .describe('Krum: the client update closest to its n − f − 2 neighbours (Blanchard et al., 2017)'),
  z
    .strictObject({
      name: z.literal('multikrum'),
      ...common,
      f: withDefault(P.multikrum.f, 'f'),
      m: optional(P.multikrum.m, 'm'),
    })
    .describe('Multi-Krum: mean of the m best-scored client updates (Blanchard et al., 2017)'),
  z
    .strictObject({ name: z.literal('bulyan'), ...common, f: withDefault(P.bulyan.f, 'f') })
    .describe('Bulyan: Krum selection, then a coordinate-wise trimmed mean (El Mhamdi et al., 2018)'),
  z
    .strictObject({ name: z.literal('qfedavg'), ...common, q: withDefault(P.qfedavg.q, 'q') })
    .describe('q-FedAvg: loss-reweighted update for fairness across clients (Li et al., 2020)'),
  z
    .strictObject({ name: z.literal('fednova'), ...common })
    .describe('FedNova: averaging of updates normalised by local steps (Wang et al., 2020)'),
  z
    .strictObject({
      name: z.literal('fedprox'),
      ...common,
      proximalMu: withDefault(P.fedprox.proximalMu, 'proximalMu'),
    })
    .describe('FedProx: FedAvg with a proximal term in each client objective (Li et al., MLSys 2020)'),
  z
    .strictObject({
      name: z.literal('scaffold'),
      ...common,
      serverLearningRate: withDefault(P.scaffold.serverLearningRate, 'serverLearningRate'),
      weighting: z
        .enum(['examples', 'uniform'])
        .default('examples')
        .describe(
          "examples: hospitals' updates and control changes weighted by training examples (the objective FedAvg " +
            'minimizes); uniform: every hospital counts once, as in the paper',
        ),
    })
    .describe('SCAFFOLD: control variates correct client drift (Karimireddy et al., ICML 2020)'),
  z
    .strictObject({
      name: z.literal('cyclic'),
      ...common,
      order: z
        .enum(['fixed', 'shuffled'])
        .default('fixed')
        .describe('fixed: hospitals in id order every round; shuffled: a seeded order per round'),
    })
    .describe('Cyclic: the model trains at one hospital after another, sequentially (Chang et al., 2018)'),
  z
    .strictObject({
      name: z.literal('custom'),
      ...common,
      module: z.string().min(1).describe('JavaScript (or TypeScript) module, relative to the scenario file'),
      options: z
        .record(z.string(), z.unknown())
        .superRefine((options, ctx) => {
          if (nestedDeeperThan(options, MAX_OPTION_DEPTH)) {
            ctx.addIssue({
              code: 'custom',
              message: `options nested deeper than ${MAX_OPTION_DEPTH} levels; expected at most ${MAX_OPTION_DEPTH}`,
            });
          }
        })
        .default({})
        .describe("passed to the module's createStrategy"),
    })
    .describe('a strategy written by the user: a module exporting createStrategy(context) → Strategy'),
]);

/** A validated strategy section of a scenario. */
export type StrategyConfig = z.output<typeof strategySchema>;
/** Name of a strategy as written in scenarios. */
export type StrategyName = StrategyConfig['name'];
