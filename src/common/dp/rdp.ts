import erfc from '@stdlib/math-base-special-erfc';
import { PrivacySettingError } from '../privacy-setting-error.ts';

/**
 * Rényi-DP accounting for the sampled Gaussian mechanism (Mironov, Talwar & Zhang 2019, "Rényi differential
 * privacy of the sampled Gaussian mechanism", §3.3): each round includes each hospital independently with
 * probability q (Poisson sampling) and adds Gaussian noise of z times the sensitivity. Integer orders α use
 * the binomial expansion of A_α, fractional orders the two-sided series with erfc terms, as TensorFlow
 * Privacy's `rdp_accountant.py` and Opacus's `accountants/analysis/rdp.py` compute them (read, not copied).
 */

/** Opacus's default orders: 1.1, 1.2, …, 10.9 and 12, 13, …, 63. */
export const DEFAULT_RDP_ORDERS: readonly number[] = [
  ...Array.from({ length: 99 }, (_, x) => 1 + (x + 1) / 10),
  ...Array.from({ length: 52 }, (_, i) => 12 + i),
];

function logAdd(a: number, b: number): number {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  if (lo === -Infinity) return hi;
  return Math.log1p(Math.exp(lo - hi)) + hi;
}

function logSub(a: number, b: number): number {
  if (a < b) throw new RangeError('log-space subtraction would be negative');
  if (b === -Infinity) return a;
  if (a === b) return -Infinity;
  const d = Math.expm1(a - b);
  return d === Infinity ? a : Math.log(d) + b;
}

/** log(erfc(x)), accurate where erfc underflows: the asymptotic series beyond x = 25. */
function logErfc(x: number): number {
  if (x < 25) return Math.log(erfc(x));
  const x2 = x * x;
  return (
    -Math.log(Math.PI) / 2 -
    Math.log(x) -
    x2 -
    0.5 / x2 +
    0.625 / x2 ** 2 -
    37 / 24 / x2 ** 3 +
    353 / 64 / x2 ** 4
  );
}

function logAInteger(q: number, sigma: number, alpha: number): number {
  let logA = -Infinity;
  let logBinom = 0;
  for (let i = 0; i <= alpha; i++) {
    if (i > 0) logBinom += Math.log(alpha - i + 1) - Math.log(i);
    const s = logBinom + i * Math.log(q) + (alpha - i) * Math.log(1 - q) + (i * i - i) / (2 * sigma * sigma);
    logA = logAdd(logA, s);
  }
  return logA;
}

function logAFractional(q: number, sigma: number, alpha: number): number {
  let logA0 = -Infinity;
  let logA1 = -Infinity;
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  let logAbsBinom = 0;
  let positive = true;
  for (let i = 0; i < 100_000; i++) {
    if (i > 0) {
      const factor = (alpha - i + 1) / i;
      logAbsBinom += Math.log(Math.abs(factor));
      if (factor < 0) positive = !positive;
    }
    const j = alpha - i;
    const logT0 = logAbsBinom + i * Math.log(q) + j * Math.log(1 - q);
    const logT1 = logAbsBinom + j * Math.log(q) + i * Math.log(1 - q);
    const logE0 = Math.log(0.5) + logErfc((i - z0) / (Math.SQRT2 * sigma));
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / (Math.SQRT2 * sigma));
    const logS0 = logT0 + (i * i - i) / (2 * sigma * sigma) + logE0;
    const logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1;
    if (positive) {
      logA0 = logAdd(logA0, logS0);
      logA1 = logAdd(logA1, logS1);
    } else {
      logA0 = logSub(logA0, logS0);
      logA1 = logSub(logA1, logS1);
    }
    if (Math.max(logS0, logS1) < -30) break;
  }
  return logAdd(logA0, logA1);
}

function rdpOneStep(q: number, sigma: number, alpha: number): number {
  if (q === 0) return 0;
  if (q === 1) return alpha / (2 * sigma * sigma);
  if (alpha === Infinity) return Infinity;
  const logA = Number.isInteger(alpha) ? logAInteger(q, sigma, alpha) : logAFractional(q, sigma, alpha);
  return logA / (alpha - 1);
}

/**
 * The RDP ε(α) at each order after `steps` rounds of the sampled Gaussian mechanism with sampling rate q
 * and noise multiplier z (noise σ = z × sensitivity).
 */
export function computeRdp(
  q: number,
  noiseMultiplier: number,
  steps: number,
  orders: readonly number[],
): number[] {
  if (!(q >= 0 && q <= 1)) throw new PrivacySettingError('sampling rate q', 'in [0, 1]', q);
  if (!Number.isFinite(noiseMultiplier) || noiseMultiplier <= 0) {
    throw new PrivacySettingError('noise multiplier z', 'a finite number > 0', noiseMultiplier);
  }
  checkSteps(steps);
  return orders.map((alpha) => {
    if (!(alpha > 1)) throw new PrivacySettingError('RDP order α', '> 1', alpha);
    return rdpOneStep(q, noiseMultiplier, alpha) * steps;
  });
}

/** Throws unless `steps` is a whole number of rounds. */
function checkSteps(steps: number): void {
  if (!Number.isInteger(steps) || steps < 0) throw new PrivacySettingError('steps', 'an integer ≥ 0', steps);
}

/**
 * A round that releases the sampled hospitals' sum only when at least `minimum` of them were sampled (secure
 * aggregation's smallest group) and noise alone otherwise: one hospital joining can then tip the round over,
 * adding `minimum` clipped updates at once (sensitivity `minimum`·C) with probability `probability`.
 */
export interface TippingRisk {
  readonly minimum: number;
  readonly probability: number;
}

/**
 * The risk of {@link TippingRisk} for `hospitals` sampled each with probability q: the largest chance, for a
 * neighbouring federation one hospital smaller or larger, that exactly `minimum` − 1 of the others are sampled.
 */
export function tippingRisk(q: number, hospitals: number, minimum: number): TippingRisk {
  const k = minimum - 1;
  const exactly = (n: number): number => {
    if (n < k) return 0;
    if (n === k) return q ** k;
    if (q >= 1) return 0;
    let logChoose = 0;
    for (let i = 0; i < k; i++) logChoose += Math.log(n - i) - Math.log(i + 1);
    return Math.exp(logChoose + k * Math.log(q) + (n - k) * Math.log1p(-q));
  };
  return { minimum, probability: Math.max(exactly(hospitals - 1), exactly(hospitals)) };
}

/**
 * Like {@link computeRdp}, for rounds that may tip (see {@link TippingRisk}). Conditioned on the others
 * sampled, a round is the sampled Gaussian with sensitivity C, or `minimum`·C when exactly `minimum` − 1 of them
 * were; by the joint convexity of exp((α − 1)·D_α) over that common mixture, one round's RDP is at most
 * log((1 − p)·e^((α−1)ε_z(α)) + p·e^((α−1)ε_{z/minimum}(α)))/(α − 1).
 */
export function computeTippingRdp(
  q: number,
  noiseMultiplier: number,
  steps: number,
  orders: readonly number[],
  risk: TippingRisk,
): number[] {
  checkSteps(steps);
  const plain = computeRdp(q, noiseMultiplier, 1, orders);
  if (!(risk.probability > 0)) return plain.map((r) => r * steps);
  const tipped = computeRdp(q, noiseMultiplier / risk.minimum, 1, orders);
  const p = Math.min(1, risk.probability);
  return orders.map((alpha, i) => {
    const a = Math.log1p(-p) + (alpha - 1) * plain[i]!;
    const b = Math.log(p) + (alpha - 1) * tipped[i]!;
    const hi = Math.max(a, b);
    const lo = Math.min(a, b);
    const one = (hi + (lo === -Infinity ? 0 : Math.log1p(Math.exp(lo - hi)))) / (alpha - 1);
    return one * steps;
  });
}

/** Rounds no hospital can tip: the plain sampled Gaussian. */
const NO_RISK: TippingRisk = { minimum: 1, probability: 0 };

/** The smallest ε over the orders, and the order that gives it. */
export interface EpsilonAtOrder {
  readonly epsilon: number;
  readonly order: number;
}

/**
 * Converts RDP to (ε, δ)-DP with the bound of Balle et al. 2020 ("Hypothesis testing interpretations and
 * Rényi differential privacy", Theorem 21), also Canonne, Kamath & Steinke 2020 (Proposition 12):
 * ε = min over α of ε(α) + log((α − 1)/α) − (log δ + log α)/(α − 1), as Opacus and TensorFlow Privacy use it;
 * ε is 0 where δ² ≥ 1 − e^(−ε(α)) (the KL bound), orders ≤ 1.01 are skipped as numerically unstable, and
 * the result is never below 0.
 */
export function rdpToEpsilon(
  orders: readonly number[],
  rdp: readonly number[],
  delta: number,
): EpsilonAtOrder {
  if (!(delta > 0 && delta < 1)) throw new PrivacySettingError('δ', 'in (0, 1)', delta);
  if (orders.length !== rdp.length || orders.length === 0) throw new RangeError('one RDP value per order');
  let best: EpsilonAtOrder = { epsilon: Infinity, order: NaN };
  orders.forEach((alpha, i) => {
    const r = rdp[i]!;
    let eps: number;
    if (delta * delta + Math.expm1(-r) >= 0) eps = 0;
    else if (alpha > 1.01) eps = r + Math.log1p(-1 / alpha) - Math.log(delta * alpha) / (alpha - 1);
    else eps = Infinity;
    if (eps < best.epsilon) best = { epsilon: eps, order: alpha };
  });
  return { epsilon: Math.max(0, best.epsilon), order: best.order };
}

/**
 * Tracks the privacy a run has spent: RDP adds up over rounds (composition), and ε at a δ is read off with
 * {@link rdpToEpsilon}. A round counts whenever noise was added, whether or not any hospital was sampled.
 */
export class RdpAccountant {
  readonly #orders: readonly number[];
  readonly #rdp: number[];
  #rounds = 0;

  constructor(orders: readonly number[] = DEFAULT_RDP_ORDERS) {
    this.#orders = [...orders];
    this.#rdp = orders.map(() => 0);
  }

  /** Rounds composed so far. */
  get rounds(): number {
    return this.#rounds;
  }

  /** Adds `steps` rounds with sampling rate q and noise multiplier z (and the risk that a hospital tips one). */
  compose(q: number, noiseMultiplier: number, steps = 1, risk?: TippingRisk): void {
    this.#rdpOf(q, noiseMultiplier, steps, risk).forEach((r, i) => (this.#rdp[i]! += r));
    this.#rounds += steps;
  }

  #rdpOf(q: number, noiseMultiplier: number, steps: number, risk: TippingRisk = NO_RISK): number[] {
    return computeTippingRdp(q, noiseMultiplier, steps, this.#orders, risk);
  }

  /** ε spent so far at this δ. */
  epsilon(delta: number): EpsilonAtOrder {
    return rdpToEpsilon(this.#orders, this.#rdp, delta);
  }

  /** ε that `steps` more rounds of (q, z) would bring the total to, without spending them. */
  epsilonAfter(
    q: number,
    noiseMultiplier: number,
    steps: number,
    delta: number,
    risk?: TippingRisk,
  ): EpsilonAtOrder {
    const more = this.#rdpOf(q, noiseMultiplier, steps, risk);
    return rdpToEpsilon(
      this.#orders,
      this.#rdp.map((r, i) => r + more[i]!),
      delta,
    );
  }
}
