import { EXIT } from './exit-codes.ts';

/** Flags of `fedmed report`. */
export interface ReportFlags {
  out?: string;
}

/** `fedmed report <folder>`: writes one self-contained HTML file for a run or a bench folder. */
export async function reportCommand(folder: string, flags: ReportFlags): Promise<number> {
  // Loaded on demand: the other commands need none of the report's maps, charts and fonts.
  const { writeReport } = await import('../report/write-report.ts');
  const { kind, file } = await writeReport(folder, flags.out);
  process.stdout.write(`${kind} report: ${file}\n`);
  return EXIT.ok;
}
