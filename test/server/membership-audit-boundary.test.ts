import { describe, expect, it } from 'vitest';
import { encodeEnvelope, type TypedVector } from '../../src/protocol/envelope.ts';
import { KINDS, kindLimits } from '../../src/protocol/kinds.ts';
import { AUDIT_BINS } from '../../src/protocol/membership-audit.ts';
import { metricRule } from '../../src/protocol/metric-names.ts';
import { admit, type Verdict } from '../../src/server/boundary.ts';
import { attackMetrics, levelsOf } from '../../src/common/attack-metrics.ts';
import { auditReplyContract } from '../../src/server/membership-audit.ts';

const sizes = { parameters: 100, histogramBins: 0 };
const contract = auditReplyContract('kr-seoul-1', { train: 6, test: 4 }, sizes);

/** Members in bins 300 and 310, non-members in bin 10: counts only. */
function bins(): Uint32Array {
  const h = new Uint32Array(2 * AUDIT_BINS);
  h[300] = 4;
  h[310] = 2;
  h[AUDIT_BINS + 10] = 4;
  return h;
}

function reply(
  fields: Record<string, unknown> = {},
  vectors: [string, TypedVector][] = [
    ['loss', bins()],
    ['lira', bins()],
  ],
): Uint8Array {
  return encodeEnvelope(
    'audit-reply',
    { members: 6, nonMembers: 4, metrics: { mia_loss_auc: 1, mia_lira_auc: 0.9 }, ...fields },
    vectors,
  );
}

const reason = (v: Verdict): string => (v.status === 'rejected' ? v.violation.message : v.status);

describe('the audit reply crosses as a declared kind: bounded metrics and bin counts, never per-patient scores', () => {
  it('is declared once in the kind table: two count vectors of fixed length, counts and registry metrics', () => {
    const spec = KINDS['audit-reply'];
    expect(spec.direction).toBe('to-coordinator');
    expect(spec.dataClass).toBe('membership-audit');
    expect(Object.keys(spec.fields).sort()).toEqual(['members', 'metrics', 'nonMembers']);
    for (const v of Object.values(spec.vectors))
      expect(v).toEqual({ dtype: 'u32', length: 'audit-histogram' });
    // The largest admissible reply does not grow with the hospital's patients or the model.
    const small = kindLimits('audit-reply', sizes).maxBytes;
    expect(kindLimits('audit-reply', { parameters: 1e6, histogramBins: 0 }).maxBytes).toBe(small);
    for (const attack of ['loss', 'lira'])
      for (const s of ['auc', 'advantage', 'tpr_fpr1', 'tpr_fpr01'])
        expect(metricRule(`mia_${attack}_${s}`)).toMatchObject({ min: 0, max: 1 });
  });

  it('admits a well-formed reply', () => {
    expect(admit(reply(), contract).status).toBe('admitted');
  });

  it('rejects per-patient scores, undeclared or out-of-range metrics, and counts that do not add up', () => {
    const scores = new Float32Array(10).fill(0.5);
    expect(
      reason(
        admit(
          reply({}, [
            ['loss', bins()],
            ['lira', bins()],
            ['scores', scores],
          ]),
          contract,
        ),
      ),
    ).toMatch(/vectors/);
    expect(
      reason(
        admit(
          reply({}, [
            ['loss', bins()],
            ['lira', scores],
          ]),
          contract,
        ),
      ),
    ).toMatch(/lira/);
    expect(reason(admit(reply({ metrics: { mia_loss_auc: 1.5 } }), contract))).toMatch(/mia_loss_auc/);
    expect(reason(admit(reply({ metrics: { patient_17_score: 0.9 } }), contract))).toMatch(
      /patient_17_score/,
    );
    expect(reason(admit(reply({ scores: [0.1, 0.9] }), contract))).toMatch(/undeclared field/);
    expect(reason(admit(reply({ members: 7 }), contract))).toMatch(/members/);
    const short = bins();
    short[300] = 3;
    expect(
      reason(
        admit(
          reply({}, [
            ['loss', short],
            ['lira', bins()],
          ]),
          contract,
        ),
      ),
    ).toMatch(/vectors.loss/);
  });
});

describe('attack metrics from counts', () => {
  it('counts ties one half and reads TPR at low FPR off the thresholds (hand-computed)', () => {
    // Ascending score levels: non-members 2, 1, 0; members 0, 1, 2.
    const m = attackMetrics([0, 1, 2], [2, 1, 0])!;
    expect(m.auc).toBeCloseTo(8.5 / 9, 12);
    expect(m.advantage).toBeCloseTo(2 / 3, 12);
    expect(m.tprAtFpr1).toBeCloseTo(2 / 3, 12);
    expect(m.aucCi[0]).toBeLessThan(m.auc);
    expect(attackMetrics([5], [7])!.auc).toBe(0.5);
    expect(levelsOf([3, 1, 3], [1, 0])).toEqual({ members: [0, 1, 2], nonMembers: [1, 1, 0] });
  });
});
