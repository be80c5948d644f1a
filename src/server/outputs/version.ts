import { readFileSync } from 'node:fs';

/** fedmed's version, from its package.json. */
export const FEDMED_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
