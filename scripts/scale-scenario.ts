// Writes scenarios/scale.json: 10,000 clinics (see bench/scale-scenario.ts), one hospital per line.
import { writeFileSync } from 'node:fs';
import { scaleScenario } from '../bench/scale-scenario.ts';

const { hospitals, ...rest } = scaleScenario({ hospitals: 10_000 });
const head = JSON.stringify(rest, null, 2).replace(/\n}$/, '');
const lines = (hospitals ?? []).map(
  (h) =>
    `    ${JSON.stringify(h)
      .replace(/([:,])/g, '$1 ')
      .replace(/^\{/, '{ ')
      .replace(/\}$/, ' }')}`,
);
writeFileSync(
  new URL('../scenarios/scale.json', import.meta.url),
  `${head},\n  "hospitals": [\n${lines.join(',\n')}\n  ]\n}\n`,
);
