import type { BenchKind, BenchRun } from './types.ts';

/** Input the runner should never produce: names the arm and seed at fault. */
export class BenchInputError extends Error {
  override readonly name = 'BenchInputError';
  constructor(
    message: string,
    readonly arm: string,
    readonly seed?: number,
  ) {
    super(message);
  }
}

/** The runs of one arm, sorted by seed. */
export interface Arm {
  readonly arm: string;
  readonly kind: BenchKind;
  readonly runs: readonly BenchRun[];
}

/** Groups runs by arm: strategies in order of first appearance, then baselines; rejects inconsistent input. */
export function groupArms(runs: readonly BenchRun[]): Arm[] {
  const byArm = new Map<string, { kind: BenchKind; runs: BenchRun[] }>();
  for (const run of runs) {
    const at = `arm '${run.arm}' seed ${run.seed}`;
    if (!Number.isFinite(run.bytes.total) || !Number.isFinite(run.bytes.crossBorder)) {
      throw new BenchInputError(`${at}: bytes must be finite numbers`, run.arm, run.seed);
    }
    if (!Number.isFinite(run.seconds)) {
      throw new BenchInputError(`${at}: seconds must be a finite number`, run.arm, run.seed);
    }
    const group = byArm.get(run.arm);
    if (group === undefined) {
      byArm.set(run.arm, { kind: run.kind, runs: [run] });
      continue;
    }
    if (group.kind !== run.kind) {
      throw new BenchInputError(
        `${at}: kind '${run.kind}' but earlier runs are '${group.kind}'`,
        run.arm,
        run.seed,
      );
    }
    if (group.runs.some((r) => r.seed === run.seed)) {
      throw new BenchInputError(`${at}: appears twice`, run.arm, run.seed);
    }
    group.runs.push(run);
  }
  const arms = [...byArm].map(([arm, g]) => ({
    arm,
    kind: g.kind,
    runs: g.runs.sort((a, b) => a.seed - b.seed),
  }));
  return [...arms.filter((a) => a.kind === 'strategy'), ...arms.filter((a) => a.kind === 'baseline')];
}

/** A metric's value if it is a finite number. */
export function finite(
  values: Readonly<Record<string, number>> | undefined,
  metric: string,
): number | undefined {
  const v = values?.[metric];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
