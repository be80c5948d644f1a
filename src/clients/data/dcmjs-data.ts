import { createRequire } from 'node:module';
import type * as Dcmjs from 'dcmjs';

const require = createRequire(import.meta.url);
let loaded: typeof Dcmjs.data | undefined;

/** dcmjs's data module, loaded on first use: most hospitals' workers never read or write a DICOM file. */
export function dicomData(): typeof Dcmjs.data {
  return (loaded ??= (require('dcmjs') as typeof Dcmjs).data);
}
