/**
 * Writes the "your own data" examples from the public tables Debian's python3-sklearn ships: three wine
 * hospitals (CSV files in their own column names, units and codes) and three digits hospitals (folders of
 * 8 × 8 PNG images with a labels CSV), each beside a scenario that reads them.
 *
 * Usage: npx tsx scripts/sklearn-examples.ts <out-dir>   (then: fedmed run <out-dir>/wine/scenario.json)
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { digitsData, wineData, writeDigits, writeWine } from '../test/helpers/sklearn-data.ts';

const out = resolve(process.argv[2] ?? 'own-data-examples');
const common = { seed: 1, minClients: 3, backend: 'js', coordinator: { site: 'neutral' } };
const wine = join(out, 'wine');
writeFileSync(
  join(wine, 'scenario.json'),
  JSON.stringify(
    {
      name: 'wine',
      ...common,
      rounds: 15,
      data: wineData(),
      hospitals: writeWine(wine),
      model: { kind: 'logistic' },
      training: { localEpochs: 1, batchSize: 16, learningRate: 0.3, optimizer: 'sgd' },
      evaluation: { minSubgroupSize: 3 },
    },
    null,
    2,
  ) + '\n',
);
const digits = join(out, 'digits');
const digitHospitals = writeDigits(digits);
writeFileSync(
  join(digits, 'scenario.json'),
  JSON.stringify(
    {
      name: 'digits',
      ...common,
      rounds: 8,
      data: digitsData(),
      hospitals: digitHospitals,
      model: { kind: 'logistic' },
      training: { localEpochs: 1, batchSize: 32, learningRate: 0.1, optimizer: 'sgd' },
    },
    null,
    2,
  ) + '\n',
);
process.stdout.write(`wrote ${wine}/scenario.json and ${digits}/scenario.json\n`);
