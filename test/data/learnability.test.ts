import { describe, expect, it } from 'vitest';
import { stream } from '../../src/common/rng.ts';
import { generateCohort } from '../../src/clients/data/cohort.ts';
import { splitTrainTest, toExamples } from '../../src/clients/data/split.ts';
import { binaryMetrics } from '../../src/clients/metrics.ts';
import type { Examples } from '../../src/models/types.ts';
import { hospital } from './helpers.ts';

function predict(ex: Examples, w: Float64Array, b: number): Float32Array {
  const d = w.length;
  const out = new Float32Array(ex.n);
  for (let i = 0; i < ex.n; i++) {
    let z = b;
    for (let j = 0; j < d; j++) z += w[j]! * ex.x[i * d + j]!;
    out[i] = 1 / (1 + Math.exp(-z));
  }
  return out;
}

describe('learnability', () => {
  it('a plain logistic regression learns the disease from a 5000-patient cohort', () => {
    const cohort = generateCohort(hospital('kr-seoul-1', 'KR', 5000, { prevalence: 0.15 }), 2026);
    const { train, test } = splitTrainTest(cohort.labels, 0.3, stream(2026, 'split', 'kr-seoul-1'));
    const tr = toExamples(cohort, train);
    const te = toExamples(cohort, test);
    const d = tr.inputShape[0]!;
    const w = new Float64Array(d);
    let b = 0;
    const lr = 0.5;
    for (let step = 0; step < 400; step++) {
      const p = predict(tr, w, b);
      const gw = new Float64Array(d);
      let gb = 0;
      for (let i = 0; i < tr.n; i++) {
        const r = p[i]! - tr.y[i]!;
        gb += r;
        for (let j = 0; j < d; j++) gw[j] = gw[j]! + r * tr.x[i * d + j]!;
      }
      for (let j = 0; j < d; j++) w[j] = w[j]! - (lr * gw[j]!) / tr.n;
      b -= (lr * gb) / tr.n;
    }
    const trainM = binaryMetrics(tr.y, predict(tr, w, b));
    const testM = binaryMetrics(te.y, predict(te, w, b));
    console.log(
      `learnability: train AUROC ${trainM.auroc?.toFixed(3)}, held-out AUROC ${testM.auroc?.toFixed(3)}, ` +
        `held-out loss ${testM.loss?.toFixed(3)}, weights ${[...w].map((v) => v.toFixed(2)).join(' ')}`,
    );
    expect(testM.auroc).toBeGreaterThan(0.68);
    // Older age, current smoking and risk alleles all raise the risk.
    expect(w[0]).toBeGreaterThan(0);
    expect(w[7]).toBeGreaterThan(0);
    expect(w[8]).toBeGreaterThan(0);
  });
});
