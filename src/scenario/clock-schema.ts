import { z } from 'zod';

const profileName = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, {
  error: 'expected a profile name of lower-case letters, digits and hyphens, such as "county-vpn"',
});

/** A site's compute and network on the virtual clock. */
export const siteSpeedSchema = z.strictObject({
  samplesPerSecond: z
    .number()
    .gt(0)
    .max(1e12)
    .describe(
      'training examples the site processes per second of simulated time (one pass over one example)',
    ),
  bandwidthMbps: z.number().gt(0).max(1e6).describe('network bandwidth each way, megabits per second'),
  latencyMs: z.number().min(0).max(600_000).describe('one-way network latency, milliseconds'),
});

/** Profiles every scenario may name (illustrative figures; declare your own in `clock.profiles`). */
export const BUILT_IN_PROFILES: Readonly<Record<string, z.output<typeof siteSpeedSchema>>> = {
  'tertiary-fibre': { samplesPerSecond: 20_000, bandwidthMbps: 1000, latencyMs: 5 },
  'regional-broadband': { samplesPerSecond: 5000, bandwidthMbps: 100, latencyMs: 20 },
  'county-vpn': { samplesPerSecond: 1000, bandwidthMbps: 10, latencyMs: 80 },
};

/**
 * The virtual clock: each hospital's compute speed and network (declared, from a profile, or drawn from seeded
 * profiles), maintenance windows, and the round's deadline. Durations follow from the work and bytes each
 * hospital is given; real time plays no part.
 */
export const clockSchema = z
  .strictObject({
    profiles: z
      .record(profileName, siteSpeedSchema)
      .default({})
      .describe(`profiles of your own, besides the built-in ${Object.keys(BUILT_IN_PROFILES).join(', ')}`),
    hospitals: z
      .record(
        z.string(),
        z.strictObject({
          profile: profileName.optional().describe('profile to start from'),
          samplesPerSecond: siteSpeedSchema.shape.samplesPerSecond.optional(),
          bandwidthMbps: siteSpeedSchema.shape.bandwidthMbps.optional(),
          latencyMs: siteSpeedSchema.shape.latencyMs.optional(),
        }),
      )
      .default({})
      .describe("hospitals' declared speeds, by hospital id: a profile, figures overriding it, or both"),
    draw: z
      .array(profileName)
      .min(1)
      .max(64)
      .optional()
      .describe(
        'profiles that hospitals without a declared profile draw from, uniformly, by the seeded stream ' +
          'seed/clock-profile/<hospital>',
      ),
    seed: z
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .optional()
      .describe("seed of the profile draws (the scenario's seed if absent)"),
    availability: z
      .array(
        z.strictObject({
          hospital: z.string().describe('hospital the window applies to'),
          from: z.number().min(0).max(1e12).describe('start of the window, simulated seconds'),
          to: z.number().gt(0).max(1e12).describe('end of the window (exclusive), simulated seconds'),
          every: z
            .number()
            .gt(0)
            .max(1e12)
            .optional()
            .describe('period in simulated seconds: the window repeats at from + k·every'),
        }),
      )
      .max(10_000)
      .default([])
      .describe('maintenance windows and outages: a hospital is never sampled or counted while in one'),
    deadlineSeconds: z
      .number()
      .gt(0)
      .max(1e12)
      .optional()
      .describe("a round's deadline in simulated seconds from its start (none if absent)"),
    late: z
      .enum(['drop', 'partial'])
      .optional()
      .describe(
        'a hospital that cannot finish by the deadline: drop it from the round, or accept the local steps that ' +
          'fit before the deadline (FedProx-style partial work, decided by the coordinator before sending); ' +
          'absent: as the strategy says (partial for fedprox and fednova, which are made for variable local work; ' +
          'drop for the others)',
      ),
  })
  .describe('simulated time: stragglers, outages and deadlines, reproducible at any worker count');

/** Strategies whose hospitals may do partial work when `late` is absent: they are made for variable local work. */
export const PARTIAL_WORK_STRATEGIES: readonly string[] = ['fedprox', 'fednova'];

/** The virtual clock's settings. */
export type ClockConfig = z.output<typeof clockSchema>;
/** A site's compute and network. */
export type SiteSpeed = z.output<typeof siteSpeedSchema>;
