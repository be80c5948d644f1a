import { InvalidArgumentError } from 'commander';
import { strategySchema } from '../scenario/strategy-schema.ts';

/** One arm of a bench: a strategy name with parameters, labelled as written (`fedprox:proximalMu=0.1`). */
export interface Arm {
  readonly label: string;
  readonly strategy: Record<string, unknown>;
  /** DP-SGD's noise multiplier for this arm (0: without DP-SGD); absent: as the scenario says. */
  readonly dpSgdNoise?: number;
  /** The topology its runs use, when not the scenario's (`--topologies`; the label then ends in `@<topology>`). */
  readonly topology?: 'flat' | 'hierarchical';
}

/**
 * Each arm under each topology of `--topologies`, in that order: under the scenario's own topology it keeps its
 * label, under another its label gains `@<topology>` (`fedavg@hierarchical`).
 */
export function withTopologies(
  arms: readonly Arm[],
  topologies: readonly ('flat' | 'hierarchical')[] | undefined,
  own: 'flat' | 'hierarchical',
): Arm[] {
  if (topologies === undefined || topologies.length === 0) return [...arms];
  return topologies.flatMap((t) =>
    arms.map((a) => ({ ...a, label: t === own ? a.label : `${a.label}@${t}`, topology: t })),
  );
}

/**
 * An arm as written on the command line: one strategy, or a grid when parameters list values separated by
 * `|` (`fedprox:proximalMu=0.01|0.1|1`); its candidates are every combination, in the order written.
 */
export interface ArmSpec {
  readonly label: string;
  readonly candidates: readonly Arm[];
}

/** Most candidates one grid may expand to. */
export const MAX_GRID = 64;

/** Parses `--strategies fedavg,fedprox:proximalMu=0.01|0.1|1,fedadam:eta=0.01:beta1=0.9`. */
export function parseArms(text: string): ArmSpec[] {
  const specs = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(parseSpec);
  if (specs.length === 0) throw new InvalidArgumentError('--strategies needs at least one strategy.');
  if (new Set(specs.map((a) => a.label)).size !== specs.length) {
    throw new InvalidArgumentError('--strategies lists the same arm twice.');
  }
  const candidates = specs.flatMap((s) => s.candidates.map((c) => c.label));
  const twice = candidates.find((label, i) => candidates.indexOf(label) !== i);
  if (twice !== undefined) {
    throw new InvalidArgumentError(`--strategies: ${twice} appears in two arms (alone or in a grid).`);
  }
  return specs;
}

function parseSpec(label: string): ArmSpec {
  const [name, ...params] = label.split(':');
  let combos: { text: string[]; strategy: Record<string, unknown> }[] = [{ text: [], strategy: { name } }];
  const keys = new Set<string>();
  for (const p of params) {
    const parts = p.split('=');
    const [key, values] = parts;
    if (parts.length !== 2 || key === undefined || values === undefined || key === '' || values === '') {
      throw new InvalidArgumentError(`--strategies: "${p}" in "${label}" is not parameter=value.`);
    }
    if (keys.has(key)) throw new InvalidArgumentError(`--strategies: "${label}" sets ${key} twice.`);
    keys.add(key);
    const options = values.split('|');
    if (options.some((v) => v === '')) {
      throw new InvalidArgumentError(`--strategies: "${p}" in "${label}" has an empty value in its list.`);
    }
    combos = combos.flatMap((c) =>
      options.map((v) => ({
        text: [...c.text, `${key}=${v}`],
        strategy: { ...c.strategy, [key]: value(v) },
      })),
    );
    if (combos.length > MAX_GRID) {
      throw new InvalidArgumentError(`--strategies: ${label} expands to more than ${MAX_GRID} candidates.`);
    }
  }
  const candidates = combos.map((c) => {
    const candidate = { label: [name, ...c.text].join(':'), strategy: c.strategy };
    const parsed = strategySchema.safeParse(candidate.strategy);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new InvalidArgumentError(
        `--strategies: ${candidate.label}: ${issue.path.join('.') || 'name'}: ${issue.message}`,
      );
    }
    return candidate;
  });
  return { label, candidates };
}

function value(text: string): unknown {
  if (text === 'true') return true;
  if (text === 'false') return false;
  const n = Number(text);
  return Number.isFinite(n) ? n : text;
}
