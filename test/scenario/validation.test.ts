import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateCohort } from '../../src/clients/data/cohort.ts';
import { InputError, loadScenario, parseScenario, scenarioJsonSchema } from '../../src/scenario/load.ts';
import { ROOT } from '../helpers/cli.ts';
import { hospitalSchema } from '../../src/scenario/schema.ts';
import { sweepVariants } from '../../src/scenario/sweep.ts';

const base = {
  name: 'validation',
  rounds: 1,
  coordinator: { site: 'KR' },
  data: { kind: 'synthetic-cohort' },
  hospitals: [
    { id: 'kr-1', country: 'KR', patients: 50 },
    { id: 'cn-1', country: 'CN', patients: 50 },
  ],
  model: { kind: 'logistic' },
};

const dir = () => mkdtempSync(join(tmpdir(), 'fedmed-validation-'));

/** The InputError a scenario raises, for matching its message. */
function rejection(json: unknown): string {
  try {
    parseScenario(json);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error('the scenario was accepted');
}

describe('scenario files', () => {
  it('a scenario file starting with a UTF-8 byte-order mark loads like one without', () => {
    const file = join(dir(), 'bom.json');
    writeFileSync(file, '\uFEFF' + JSON.stringify(base));
    expect(loadScenario(file).name).toBe('validation');
  });

  it('strategy options nested 20,000 levels deep are refused with their JSON path, not a stack overflow', () => {
    const file = join(dir(), 'deep.json');
    const deep = '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000);
    const strategy = `{"name":"custom","module":"m.mjs","options":${deep}}`;
    writeFileSync(file, JSON.stringify(base).replace(/}$/, `,"strategy":${strategy}}`));
    expect(() => loadScenario(file)).toThrow(/\$\.strategy\.options: .*nested deeper than 32 levels/);
  });

  it('Dirichlet α is bounded to a range whose draws terminate, naming the JSON path', () => {
    const at = (alpha: number) =>
      rejection({ ...base, data: { kind: 'synthetic-cohort', partition: { kind: 'dirichlet', alpha } } });
    expect(at(5e-324)).toMatch(/\$\.data\.partition\.alpha: .*0\.001/);
    expect(at(1e-4)).toMatch(/\$\.data\.partition\.alpha/);
    expect(() =>
      parseScenario({
        ...base,
        data: { kind: 'synthetic-cohort', partition: { kind: 'dirichlet', alpha: 0.001 } },
      }),
    ).not.toThrow();
  });

  it('two fields mapped to one EMR column are refused at validation, naming both fields and the JSON path', () => {
    const message = rejection({
      ...base,
      hospitals: [{ ...base.hospitals[0], emr: { columns: { age: 'x', sex: 'x' } } }, base.hospitals[1]],
    });
    expect(message).toMatch(/\$\.hospitals\[0\]\.emr\.columns\.sex: .*age and sex/);
    const implicit = rejection({
      ...base,
      hospitals: [{ ...base.hospitals[0], emr: { columns: { bmi: 'age' } } }, base.hospitals[1]],
    });
    expect(implicit).toMatch(/\$\.hospitals\[0\]\.emr\.columns\.bmi: .*age and bmi/);
  });

  it('smoking rates that sum above 1 name the hospital and JSON path, at validation or in the worker', () => {
    const both = rejection({
      ...base,
      hospitals: [
        base.hospitals[0],
        { ...base.hospitals[1], cohort: { currentSmokerRate: 0.7, formerSmokerRate: 0.5 } },
      ],
    });
    expect(both).toMatch(/\$\.hospitals\[1\]\.cohort\.formerSmokerRate: .*at most 1/);
    // One rate set, the other the country's: only the worker's profile knows the sum.
    const h = hospitalSchema.parse({
      id: 'kr-9',
      country: 'KR',
      patients: 30,
      cohort: { currentSmokerRate: 0.95 },
    });
    expect(() => generateCohort(h, 1)).toThrow(/hospital kr-9: cohort\.currentSmokerRate .*formerSmokerRate/);
  });
});

describe('score histograms and the outcome', () => {
  const tabular = (outcome: object) => ({
    ...base,
    data: { kind: 'tabular', features: [{ name: 'x', type: 'numeric' }], outcome },
    hospitals: [{ id: 'kr-1', country: 'KR', patients: 20, source: { kind: 'table', path: 'kr.csv' } }],
    evaluation: { histogramBins: 50 },
  });

  it('a multi-class outcome takes one histogram per class; a continuous one is refused with the JSON path', () => {
    expect(() =>
      parseScenario(tabular({ name: 'y', type: 'multiclass', classes: ['a', 'b', 'c'] })),
    ).not.toThrow();
    expect(rejection(tabular({ name: 'y', type: 'continuous' }))).toMatch(
      /evaluation\.histogramBins.*binary or multi-class outcome/,
    );
  });

  it('a label-flipping attacker needs labels: refused for a continuous outcome with the JSON path', () => {
    const flip = (outcome: object) => ({
      ...tabular(outcome),
      evaluation: {},
      faults: [{ hospital: 'kr-1', behaviour: 'label-flip' }],
    });
    expect(() =>
      parseScenario(flip({ name: 'y', type: 'multiclass', classes: ['a', 'b', 'c'] })),
    ).not.toThrow();
    expect(rejection(flip({ name: 'y', type: 'continuous' }))).toMatch(
      /\$\.faults\[0\]\.behaviour: label-flip needs a binary or multi-class outcome/,
    );
  });
});

describe('the shipped JSON Schema', () => {
  it('is what `fedmed schema` prints for the current schema (regenerate it after changing a field)', () => {
    const shipped: unknown = JSON.parse(readFileSync(join(ROOT, 'scenarios/scenario.schema.json'), 'utf8'));
    expect(shipped).toEqual(scenarioJsonSchema());
  });
});

describe('hospital data released between rounds', () => {
  it('needs the natural partition: a Dirichlet split is refused naming $.hospitalData', () => {
    const released = { ...base, hospitalData: 'release' };
    expect(() => parseScenario(released)).not.toThrow();
    const dirichlet = {
      ...released,
      data: { kind: 'synthetic-cohort', partition: { kind: 'dirichlet', alpha: 0.5 } },
    };
    expect(rejection(dirichlet)).toMatch(/\$\.hospitalData: expected "keep" with a dirichlet partition/);
    expect(() => parseScenario({ ...dirichlet, hospitalData: 'keep' })).not.toThrow();
  });
});

describe('sweep folder names', () => {
  const sweep = (values: (number | string | boolean)[]) =>
    parseScenario({ ...base, description: 'x', sweep: { parameter: 'description', values } });

  it('values whose folder names collide are refused, naming both values', () => {
    expect(() => sweepVariants(sweep(['a b', 'a_b']))).toThrow(
      /\$\.sweep\.values\[1\]: .*same folder name "description-a_b" as \$\.sweep\.values\[0\]/,
    );
    expect(() => sweepVariants(sweep(['same', 'same']))).toThrow(/\$\.sweep\.values\[1\]: .*\[0\]/);
  });

  it('a value that makes a folder name longer than 255 bytes is refused with its JSON path', () => {
    expect(() => sweepVariants(sweep(['x'.repeat(300)]))).toThrow(
      /\$\.sweep\.values\[0\]: .*folder name of at most 240 bytes/,
    );
  });
});
