import { z } from 'zod';

/** An ISO 3166-1 alpha-2 country code in capitals. */
export const countryCode = z
  .string()
  .regex(/^[A-Z]{2}$/, { error: 'expected an ISO 3166-1 alpha-2 country code in capitals, such as "KR"' });

/** A hospital's id: also the name of its random streams and of its log file. */
export const hospitalId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, {
  error: 'expected a hospital id of lower-case letters, digits and hyphens, such as "kr-seoul-1"',
});
