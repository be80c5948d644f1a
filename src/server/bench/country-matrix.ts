import type { CountryMatrix } from '../outputs/country-matrix.ts';
import { meanCi, type MeanCi } from './stats.ts';
import type { BenchRun } from './types.ts';

/** The country matrix of a bench: each cell's mean ± 95% CI over the seeds whose run has that matrix. */
export interface BenchCountryMatrix {
  /** The arm whose runs ran the country-only baseline (the first arm). */
  readonly arm: string;
  readonly metric: string;
  readonly evaluatedOn: readonly string[];
  readonly seeds: number;
  readonly rows: readonly { readonly trainedOn: string; readonly values: Record<string, MeanCi | null> }[];
  /**
   * What joining buys each country: joint minus that country's own model, on its own patients, paired by seed
   * (mean ± 95% CI); positive means the joint model is better there.
   */
  readonly gain: Readonly<Record<string, MeanCi | null>>;
}

/** The country matrices of the runs that have one, cell by cell over seeds; undefined when none has. */
export function benchCountryMatrix(runs: readonly BenchRun[]): BenchCountryMatrix | undefined {
  const withMatrix = runs.filter(
    (r): r is BenchRun & { countryMatrix: CountryMatrix } => r.countryMatrix !== undefined,
  );
  if (withMatrix.length === 0) return undefined;
  const arm = withMatrix[0]!.arm;
  const mine = withMatrix.filter((r) => r.arm === arm);
  const first = mine[0]!.countryMatrix;
  const cell = (values: (number | null | undefined)[]): MeanCi | null => {
    const finite = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    return finite.length === 0 ? null : meanCi(finite);
  };
  const value = (r: { countryMatrix: CountryMatrix }, trainedOn: string, c: string) =>
    r.countryMatrix.rows.find((x) => x.trainedOn === trainedOn)?.values[c];
  return {
    arm,
    metric: first.metric,
    evaluatedOn: first.evaluatedOn,
    seeds: mine.length,
    rows: first.rows.map(({ trainedOn }) => ({
      trainedOn,
      values: Object.fromEntries(
        first.evaluatedOn.map((c) => [c, cell(mine.map((r) => value(r, trainedOn, c)))]),
      ),
    })),
    gain: Object.fromEntries(
      first.evaluatedOn.map((c) => [
        c,
        cell(
          mine.map((r) => {
            const joint = value(r, 'joint', c);
            const own = value(r, `${c} only`, c);
            return typeof joint === 'number' && typeof own === 'number' ? joint - own : null;
          }),
        ),
      ]),
    ),
  };
}

/** The matrix as Markdown lines: a table of mean ± half-width per cell, and the gain row. */
export function countryMatrixMarkdown(m: BenchCountryMatrix): string[] {
  const f = (ci: MeanCi | null, sign = false) =>
    ci === null
      ? '–'
      : `${sign && ci.mean >= 0 ? '+' : ''}${ci.mean.toFixed(3)}${ci.halfWidth === undefined ? '' : ` ± ${ci.halfWidth.toFixed(3)}`}`;
  const header = `| trained on ↓ / evaluated on → | ${m.evaluatedOn.join(' | ')} |`;
  const rule = `|---|${m.evaluatedOn.map(() => '---').join('|')}|`;
  return [
    `## What joining buys each country (${m.metric}, ${m.arm}, mean ± 95% CI over ${m.seeds} seeds)`,
    '',
    'Each model scored on every country\'s held-out patients: each country federating alone ("KR only"), the ' +
      "joint federation, local-only (each hospital's own model at home) and the pooled oracle.",
    '',
    header,
    rule,
    ...m.rows.map(
      (r) => `| ${r.trainedOn} | ${m.evaluatedOn.map((c) => f(r.values[c] ?? null)).join(' | ')} |`,
    ),
    `| **joint − own country, paired** | ${m.evaluatedOn.map((c) => f(m.gain[c] ?? null, true)).join(' | ')} |`,
    '',
  ];
}
