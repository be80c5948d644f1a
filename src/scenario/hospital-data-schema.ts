import { z } from 'zod';

/** Whether a worker keeps each hospital's data for the whole run or rebuilds it for every request. */
export const hospitalDataSchema = z
  .enum(['keep', 'release'])
  .describe(
    "keep (default): each hospital's data is built at setup and kept in its worker for the run; release: it is " +
      'built (synthetic) or read (own files) at setup to learn its counts, then dropped, and rebuilt bit-identically ' +
      'whenever the hospital is asked to fit or evaluate, and dropped again after; the hospitals of a thread share ' +
      'one model. Memory is bounded by the hospitals in flight, not their number: for many small hospitals sampled a few per round. ' +
      'Needs the natural partition (a Dirichlet or other split draws each share from every hospital)',
  );
