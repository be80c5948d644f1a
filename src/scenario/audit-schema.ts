import { z } from 'zod';

/** The membership-inference audit each hospital runs on the final global model. */
export const auditSchema = z
  .strictObject({
    references: z
      .int()
      .min(4)
      .max(16)
      .multipleOf(2)
      .default(4)
      .describe(
        "reference models LiRA trains inside each hospital, in pairs on a random half of the hospital's patients " +
          'and its complement, so every patient is left out of half of them',
      ),
    epochs: z
      .int()
      .min(1)
      .max(100_000)
      .optional()
      .describe(
        'epochs each reference model trains; absent: rounds × training.localEpochs, what the global model saw',
      ),
    every: z
      .int()
      .min(1)
      .optional()
      .describe(
        'also audit the global model after every k-th round (summary.json audit.periodic); the reference models are trained once',
      ),
  })
  .describe(
    'after training, each hospital attacks the global model on its training versus held-out patients ' +
      '(loss threshold, Yeom et al. 2018; calibrated likelihood ratio, Carlini et al. 2022) and reports only ' +
      'bounded metrics and score-bin counts',
  );

/** Audit settings after validation. */
export type AuditConfig = z.output<typeof auditSchema>;
