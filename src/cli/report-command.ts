import { writeReport } from '../report/write-report.ts';
import { EXIT } from './exit-codes.ts';

/** Flags of `fedmed report`. */
export interface ReportFlags {
  out?: string;
}

/** `fedmed report <folder>`: writes one self-contained HTML file for a run or a bench folder. */
export async function reportCommand(folder: string, flags: ReportFlags): Promise<number> {
  const { kind, file } = await writeReport(folder, flags.out);
  process.stdout.write(`${kind} report: ${file}\n`);
  return EXIT.ok;
}
