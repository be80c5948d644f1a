import { describe, expect, it } from 'vitest';
import { MAX_GRID, parseArms } from '../../src/cli/bench-arms.ts';
import { selectCandidate } from '../../src/server/bench/selection.ts';
import { finalOnly } from '../server/bench/fixtures.ts';

describe('parseArms', () => {
  it('keeps a plain arm as its one candidate, with typed parameter values', () => {
    expect(parseArms('fedavg, fedprox:proximalMu=0.5')).toEqual([
      { label: 'fedavg', candidates: [{ label: 'fedavg', strategy: { name: 'fedavg' } }] },
      {
        label: 'fedprox:proximalMu=0.5',
        candidates: [{ label: 'fedprox:proximalMu=0.5', strategy: { name: 'fedprox', proximalMu: 0.5 } }],
      },
    ]);
  });

  it('expands a grid to every combination, in the order written', () => {
    const [grid] = parseArms('fedadam:eta=0.01|0.1:tau=0.001|1e-9');
    expect(grid!.label).toBe('fedadam:eta=0.01|0.1:tau=0.001|1e-9');
    expect(grid!.candidates.map((c) => c.label)).toEqual([
      'fedadam:eta=0.01:tau=0.001',
      'fedadam:eta=0.01:tau=1e-9',
      'fedadam:eta=0.1:tau=0.001',
      'fedadam:eta=0.1:tau=1e-9',
    ]);
    expect(grid!.candidates[3]!.strategy).toEqual({ name: 'fedadam', eta: 0.1, tau: 1e-9 });
  });

  it.each([
    ['fedprox:proximalMu=0.1|', /empty value in its list/],
    ['fedprox:proximalMu', /"proximalMu" in "fedprox:proximalMu" is not parameter=value/],
    ['fedtrimmedavg:beta=0.1|0.6', /fedtrimmedavg:beta=0\.6: beta: beta must be in \[0, 0\.5\)/],
    ['fedprox:proximalMu=1,fedprox:proximalMu=0.1|1', /fedprox:proximalMu=1 appears in two arms/],
    ['fedavg,fedavg', /lists the same arm twice/],
    ['fedprox:proximalMu=0.1=5', /"proximalMu=0\.1=5" in "fedprox:proximalMu=0\.1=5" is not parameter=value/],
    ['fedprox:proximalMu=0.1:proximalMu=0.01|1', /sets proximalMu twice/],
    [`fedadam:eta=${'1|'.repeat(8)}1:tau=${'1|'.repeat(8)}1`, new RegExp(`more than ${MAX_GRID} candidates`)],
  ])('rejects %s, naming what is wrong', (text, message) => {
    expect(() => parseArms(text)).toThrow(message);
  });
});

describe('selectCandidate', () => {
  const runs = [
    finalOnly('a', 1, { accuracy: 0.7, loss: 0.5 }),
    finalOnly('a', 2, { accuracy: 0.8, loss: 0.4 }),
    finalOnly('b', 1, { accuracy: 0.75, loss: 0.3 }),
    finalOnly('b', 2, { accuracy: 0.75, loss: 0.3 }),
    finalOnly('c', 1, { loss: 0.2 }),
  ];

  it('keeps the best mean, the lowest for losses, and the first on ties', () => {
    const byAccuracy = selectCandidate('g', ['a', 'b', 'c'], runs, 'accuracy', [1, 2]);
    expect(byAccuracy.chosen).toBe('a');
    expect(byAccuracy.candidates.map((c) => [c.label, c.score?.mean, c.score?.n])).toEqual([
      ['a', 0.75, 2],
      ['b', 0.75, 2],
      ['c', undefined, undefined],
    ]);
    expect(selectCandidate('g', ['a', 'b', 'c'], runs, 'loss', [1, 2]).chosen).toBe('c');
    const calibrated = [
      finalOnly('x', 1, { brier: 0.3, ece: 0.2 }),
      finalOnly('y', 1, { brier: 0.1, ece: 0.05 }),
    ];
    expect(selectCandidate('g', ['x', 'y'], calibrated, 'brier', [1]).chosen).toBe('y');
    expect(selectCandidate('g', ['x', 'y'], calibrated, 'ece', [1]).chosen).toBe('y');
  });

  it('names the grid and the metric when no candidate reports it', () => {
    expect(() => selectCandidate('g', ['a'], runs, 'auroc', [1, 2])).toThrow(
      /^g: no candidate reports auroc on the tuning seeds$/,
    );
  });
});
