import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/cli.ts';

/** Display names in Korean and Chinese for quickstart's hospitals, to check that the report renders them. */
export const CJK_NAMES: Readonly<Record<string, string>> = {
  'kr-seoul-1': '서울대학교병원',
  'kr-busan-1': '부산지역병원',
  'cn-beijing-1': '北京协和医院',
  'cn-chengdu-1': '成都县医院',
};

/** A fresh folder for one test file's runs. */
export const scratch = (name: string): string => mkdtempSync(join(tmpdir(), `fedmed-report-${name}-`));

/** scenarios/quickstart.json with its hospitals named in Korean and Chinese (and `faults`), written into `dir`. */
export function cjkQuickstart(dir: string, faults: readonly Record<string, unknown>[] = []): string {
  const scenario = JSON.parse(readFileSync(join(ROOT, 'scenarios/quickstart.json'), 'utf8')) as {
    hospitals: { id: string; name?: string }[];
    $schema?: string;
    faults?: readonly Record<string, unknown>[];
  };
  delete scenario.$schema;
  if (faults.length > 0) scenario.faults = faults;
  for (const h of scenario.hospitals) h.name = CJK_NAMES[h.id] ?? h.name;
  const file = join(dir, 'quickstart-cjk.json');
  writeFileSync(file, JSON.stringify(scenario, null, 2));
  return file;
}
