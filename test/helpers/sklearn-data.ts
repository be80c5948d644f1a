import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PNG } from 'pngjs';

/**
 * Public tables Debian's python3-sklearn ships (UCI wine, diabetes, the 8 × 8 digits), split among three
 * hospitals by the rule scripts/own-data-stats.py uses for its NumPy fixture: row i goes to hospital i % 3 and
 * is held out when (i // 3) % 4 == 0. Each hospital writes its own files in its own schema.
 */
export const SKLEARN_DATA = '/usr/lib/python3/dist-packages/sklearn/datasets/data';

export const WINE_FEATURES = [
  'alcohol',
  'malic_acid',
  'ash',
  'alcalinity_of_ash',
  'magnesium',
  'total_phenols',
  'flavanoids',
  'nonflavanoid_phenols',
  'proanthocyanins',
  'color_intensity',
  'hue',
  'od280_od315',
  'proline',
] as const;

const heldOut = (i: number) => Math.floor(i / 3) % 4 === 0;
const csv = (rows: readonly (readonly (string | number)[])[]) =>
  rows.map((r) => r.join(',')).join('\n') + '\n';

/** The wine table's rows as text cells (13 features, then the class 0, 1 or 2). */
function wineRows(): string[][] {
  const lines = readFileSync(join(SKLEARN_DATA, 'wine_data.csv'), 'utf8').trim().split('\n').slice(1);
  return lines.map((l) => l.split(','));
}

/**
 * Writes wine as three hospitals' CSVs: `wine-a` in the declared names and classes coded 0/1/2; `wine-b` in
 * German column names, alcohol in per mille (‰ = 10 × %) and proline in mg/dL (÷ 10), classes coded A/B/C;
 * `wine-c` in the declared names with magnesium left blank where i % 10 == 2, and its columns reordered.
 * Returns the hospitals of a scenario.
 */
export function writeWine(dir: string): object[] {
  const rows = wineRows();
  const parts: string[][][] = [[], [], []];
  rows.forEach((r, i) => parts[i % 3]!.push([...r, heldOut(i) ? 'test' : 'train', String(i)]));
  const german = [
    'Alkohol',
    'Apfelsaeure',
    'Asche',
    'Aschealkalitaet',
    'Magnesium',
    'Phenole',
    'Flavanoide',
    'Nichtflavanoide',
    'Proanthocyane',
    'Farbintensitaet',
    'Farbton',
    'OD280',
    'Prolin',
  ];
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'wine-a.csv'),
    csv([[...WINE_FEATURES, 'cultivar', 'set', 'record'], ...parts[0]!]),
  );
  const b = [
    ['Nr', ...german, 'Sorte', 'Satz'],
    ...parts[1]!.map((r) => [
      r[15]!,
      String(Number(r[0]) * 10),
      ...r.slice(1, 12),
      String(Number(r[12]) / 10),
      'ABC'[Number(r[13])]!,
      r[14]!,
    ]),
  ];
  writeFileSync(join(dir, 'wine-b.csv'), csv(b));
  const cOrder = [...WINE_FEATURES].reverse();
  writeFileSync(
    join(dir, 'wine-c.csv'),
    csv([
      [...cOrder, 'cultivar', 'set', 'record'],
      ...parts[2]!.map((r) => {
        const i = Number(r[15]);
        const cells = [...r.slice(0, 13)];
        if (i % 10 === 2) cells[WINE_FEATURES.indexOf('magnesium')] = '';
        return [...cOrder.map((f) => cells[WINE_FEATURES.indexOf(f)]!), r[13]!, r[14]!, r[15]!];
      }),
    ]),
  );
  const split = { kind: 'column', column: 'set', testValue: 'test' };
  return [
    {
      id: 'wine-a',
      country: 'IT',
      patients: 60,
      source: {
        kind: 'table',
        path: 'wine-a.csv',
        codes: { cultivar: { c0: '0', c1: '1', c2: '2' } },
        split,
      },
    },
    {
      id: 'wine-b',
      country: 'DE',
      patients: 60,
      source: {
        kind: 'table',
        path: 'wine-b.csv',
        columns: {
          ...Object.fromEntries(WINE_FEATURES.map((f, k) => [f, german[k]!])),
          cultivar: 'Sorte',
          record: 'Nr',
        },
        units: {
          alcohol: { unit: '‰', factor: 0.1 },
          proline: { unit: 'mg/dL', factor: 10 },
        },
        codes: { cultivar: { c0: 'A', c1: 'B', c2: 'C' } },
        split: { kind: 'column', column: 'Satz', testValue: 'test' },
      },
    },
    {
      id: 'wine-c',
      country: 'FR',
      patients: 60,
      source: {
        kind: 'table',
        path: 'wine-c.csv',
        codes: { cultivar: { c0: '0', c1: '1', c2: '2' } },
        split,
      },
    },
  ];
}

/** The declared wine table: 13 numeric features (magnesium imputed by the federated mean), 3 cultivars. */
export function wineData(changes: object = {}): object {
  return {
    kind: 'tabular',
    features: WINE_FEATURES.map((name) => ({
      name,
      type: 'numeric',
      ...(name === 'magnesium' ? { missing: 'impute' } : {}),
    })),
    outcome: { name: 'cultivar', type: 'multiclass', classes: ['c0', 'c1', 'c2'] },
    id: 'record',
    preprocessing: { scaling: 'federated-standardise' },
    ...changes,
  };
}

const DIABETES = ['age', 'sex', 'bmi', 'bp', 's1', 's2', 's3', 's4', 's5', 's6'] as const;

/**
 * Writes diabetes as three hospitals' CSVs (age, sex coded 1/2 — `dia-b` codes it M/F and names its columns
 * in Korean romanisation —, BMI, blood pressure, six serum measurements, the progression a year later).
 */
export function writeDiabetes(dir: string): object[] {
  const x = gunzipSync(readFileSync(join(SKLEARN_DATA, 'diabetes_data_raw.csv.gz')))
    .toString('utf8')
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/));
  const y = gunzipSync(readFileSync(join(SKLEARN_DATA, 'diabetes_target.csv.gz')))
    .toString('utf8')
    .trim()
    .split('\n')
    .map((l) => String(Number(l)));
  const parts: string[][][] = [[], [], []];
  x.forEach((r, i) => parts[i % 3]!.push([...r, y[i]!, heldOut(i) ? 'test' : 'train']));
  mkdirSync(dir, { recursive: true });
  const header = [...DIABETES, 'progression', 'set'];
  writeFileSync(join(dir, 'dia-a.csv'), csv([header, ...parts[0]!]));
  const korean = [
    'nai',
    'seongbyeol',
    'bmi',
    'hyeolap',
    's1',
    's2',
    's3',
    's4',
    's5',
    's6',
    'jinhaeng',
    'set',
  ];
  writeFileSync(
    join(dir, 'dia-b.csv'),
    csv([korean, ...parts[1]!.map((r) => r.map((c, k) => (k === 1 ? (c === '1' ? 'M' : 'F') : c)))]),
  );
  writeFileSync(join(dir, 'dia-c.csv'), csv([header, ...parts[2]!]));
  const split = { kind: 'column', column: 'set', testValue: 'test' };
  return [
    { id: 'dia-a', country: 'US', patients: 150, source: { kind: 'table', path: 'dia-a.csv', split } },
    {
      id: 'dia-b',
      country: 'KR',
      patients: 150,
      source: {
        kind: 'table',
        path: 'dia-b.csv',
        columns: { age: 'nai', sex: 'seongbyeol', bp: 'hyeolap', progression: 'jinhaeng' },
        codes: { sex: { '1': 'M', '2': 'F' } },
        split,
      },
    },
    { id: 'dia-c', country: 'US', patients: 150, source: { kind: 'table', path: 'dia-c.csv', split } },
  ];
}

/** The declared diabetes table: nine numeric features, sex categorical, a continuous outcome. */
export function diabetesData(): object {
  return {
    kind: 'tabular',
    features: DIABETES.map((name) =>
      name === 'sex' ? { name, type: 'categorical', categories: ['1', '2'] } : { name, type: 'numeric' },
    ),
    outcome: { name: 'progression', type: 'continuous' },
    preprocessing: { scaling: 'federated-standardise' },
  };
}

/**
 * Writes the 8 × 8 digits as PNG files (grey, 0–16 scaled to 0–255) in three hospitals' folders, each with a
 * labels CSV (file, digit, set). Returns the hospitals of a scenario.
 */
export function writeDigits(dir: string): object[] {
  const rows = gunzipSync(readFileSync(join(SKLEARN_DATA, 'digits.csv.gz')))
    .toString('utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(',').map(Number));
  const labels: string[][][] = [[], [], []];
  rows.forEach((r, i) => {
    const h = i % 3;
    const png = new PNG({ width: 8, height: 8, colorType: 0, inputColorType: 0, inputHasAlpha: false });
    const grey = Buffer.from(r.slice(0, 64).map((v) => Math.round((v * 255) / 16)));
    png.data = grey;
    const folder = join(dir, `digits-${h}`);
    mkdirSync(folder, { recursive: true });
    const file = `img${String(i).padStart(4, '0')}.png`;
    writeFileSync(
      join(folder, file),
      PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false }),
    );
    labels[h]!.push([file, String(r[64]), heldOut(i) ? 'test' : 'train']);
  });
  return labels.map((rowsOf, h) => {
    writeFileSync(join(dir, `digits-${h}`, 'labels.csv'), csv([['file', 'digit', 'set'], ...rowsOf]));
    return {
      id: `digits-${h}`,
      country: ['GB', 'NL', 'DE'][h],
      patients: 600,
      source: {
        kind: 'image-folder',
        folder: `digits-${h}`,
        labels: `digits-${h}/labels.csv`,
        labelColumn: 'digit',
        split: { kind: 'column', column: 'set', testValue: 'test' },
      },
    };
  });
}

/** The declared digits folder: 8 × 8 grey images, ten classes, pixels standardised by federated statistics. */
export function digitsData(): object {
  return {
    kind: 'image-folder',
    height: 8,
    width: 8,
    channels: 1,
    outcome: {
      name: 'digit',
      type: 'multiclass',
      classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    },
    preprocessing: { scaling: 'federated-standardise' },
  };
}
