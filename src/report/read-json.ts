import type { z } from 'zod';
import { MAX_RUN_FILE_BYTES, readBounded } from '../common/bounded-read.ts';
import { InputError, jsonPath } from '../scenario/load.ts';

/** A run folder's file as text: a FIFO, a device or a file too large is named, never read. */
export function readRunText(file: string): string {
  return readBounded(file, MAX_RUN_FILE_BYTES, (expected) => {
    throw new InputError(`${file}: expected ${expected}`);
  }).toString('utf8');
}

function check<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new InputError(`${where}: ${jsonPath(issue.path)}: ${issue.message}`);
}

/** Reads a JSON file and checks it against `schema`; an InputError names the file and the JSON path. */
export function readJson<T>(file: string, schema: z.ZodType<T>): T {
  let value: unknown;
  try {
    value = JSON.parse(readRunText(file));
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`${file}: not valid JSON`);
  }
  return check(schema, value, file);
}

/** Reads a JSON Lines file, each line checked against `schema`; errors name the file and line. */
export function readJsonLines<T>(file: string, schema: z.ZodType<T>): T[] {
  const out: T[] = [];
  readRunText(file)
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        throw new InputError(`${file} line ${i + 1}: not valid JSON`);
      }
      out.push(check(schema, value, `${file} line ${i + 1}`));
    });
  return out;
}
