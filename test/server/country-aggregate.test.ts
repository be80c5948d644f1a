import { describe, expect, it } from 'vitest';
import { countryAggregate } from '../../src/clients/country-aggregator.ts';
import { encodeEnvelope } from '../../src/protocol/envelope.ts';
import { admit } from '../../src/server/boundary.ts';

const sizes = { parameters: 3, histogramBins: 0 };
const contract = (numExamples: number, contributors: number) => ({
  hospital: 'aggregator-KR',
  kind: 'country-aggregate' as const,
  sizes,
  vectors: ['sum'],
  counts: {
    numExamples: { min: numExamples, max: numExamples },
    contributors: { min: contributors, max: contributors },
  },
});

describe("a country aggregator's reply", () => {
  it('is the Float64 sum of its hospitals’ weighted updates, admitted with exactly their counts', () => {
    const global = Float32Array.from([1, 2, 3]);
    const updates = Float32Array.from([1.5, 2, 2, 0.5, 2.5, 4]);
    const reply = countryAggregate(global, new Map([['updates', updates]]), {
      round: 1,
      weights: [30, 10],
      numExamples: [30, 10],
    });
    const raw = encodeEnvelope(reply.kind, reply.fields, reply.vectors);
    const verdict = admit(raw, contract(40, 2));
    expect(verdict.status).toBe('admitted');
    if (verdict.status !== 'admitted') return;
    expect([...(verdict.reply.vectors.get('sum') as Float64Array)]).toEqual([
      30 * 0.5 + 10 * -0.5,
      30 * 0 + 10 * 0.5,
      30 * -1 + 10 * 1,
    ]);
  });

  it('is rejected when it claims more examples or contributors than its hospitals reported, or a Float32 sum', () => {
    const sum = new Float64Array(3);
    const forged = [
      encodeEnvelope('country-aggregate', { numExamples: 41, contributors: 2 }, [['sum', sum]]),
      encodeEnvelope('country-aggregate', { numExamples: 40, contributors: 3 }, [['sum', sum]]),
      encodeEnvelope('country-aggregate', { numExamples: 40, contributors: 2 }, [
        ['sum', new Float32Array(3)],
      ]),
      encodeEnvelope('country-aggregate', { numExamples: 40, contributors: 2 }, [
        ['sum', Float64Array.from([0, NaN, 0])],
      ]),
    ];
    const reasons = forged.map((raw) => {
      const v = admit(raw, contract(40, 2));
      return v.status === 'rejected' ? v.violation.message : v.status;
    });
    expect(reasons[0]).toMatch(/numExamples/);
    expect(reasons[1]).toMatch(/contributors/);
    expect(reasons[2]).toMatch(/sum/);
    expect(reasons[3]).toMatch(/sum/);
  });
});
