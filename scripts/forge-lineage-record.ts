// Makes a copy of a run folder whose crossings.jsonl is forged to grow one model lineage a split at a time
// (test/helpers/forged-lineage.ts), the record that made `fedmed verify` quadratic: a setup reply per hospital,
// then one evaluation request per split, each lineage the one before plus that split, chained, with the bases
// and violations the policies give. The manifest's chain head is updated, so `fedmed verify <out>` reads the
// whole record (its totals and compliance checks fail: the metrics are the original run's).
//
//   npx tsx scripts/forge-lineage-record.ts <run folder> <lines> <out folder> [--policies]
//
// `--policies` adds the Korea/China policies of test/helpers/forged-lineage.ts to the scenario (so every line is
// weighed by them; the scenario check then fails on its hash).
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseScenario } from '../src/scenario/load.ts';
import { entryHash } from '../src/server/ledger.ts';
import { forgedLineageRecord, KOREA_CHINA_POLICIES } from '../test/helpers/forged-lineage.ts';

const [from, count, out, flag] = process.argv.slice(2);
if (from === undefined || count === undefined || out === undefined) {
  process.stderr.write('usage: forge-lineage-record.ts <run folder> <lines> <out folder> [--policies]\n');
  process.exit(2);
}
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
cpSync(from, out, { recursive: true, dereference: true });
const json = JSON.parse(readFileSync(join(from, 'scenario.json'), 'utf8')) as Record<string, unknown>;
if (flag === '--policies') {
  json.jurisdiction = KOREA_CHINA_POLICIES;
  writeFileSync(join(out, 'scenario.json'), JSON.stringify(json, null, 2) + '\n');
}
const scenario = parseScenario(json, join(out, 'scenario.json'));
const record = forgedLineageRecord(scenario, Number(count));
writeFileSync(join(out, 'crossings.jsonl'), record.map((c) => JSON.stringify(c)).join('\n') + '\n');
const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as {
  ledger: { entries: number; genesis: string; head: string };
};
manifest.ledger = { ...manifest.ledger, entries: record.length, head: entryHash(record.at(-1)) };
writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
process.stdout.write(
  `${out}: ${record.length} crossings, ${record.filter((c) => c.lineage !== undefined).length} lineage definitions\n`,
);
