import { stream } from '../../common/rng.ts';
import { BUILT_IN_PROFILES, type ClockConfig, type SiteSpeed } from '../../scenario/clock-schema.ts';

/**
 * Each hospital's compute and network: its declared figures over its declared profile, or else a profile drawn
 * uniformly from `clock.draw` by the stream `seed/clock-profile/<hospital>` (the same at any worker count).
 */
export function siteSpeeds(
  clock: ClockConfig,
  hospitals: readonly string[],
  seed: number,
): Map<string, SiteSpeed & { readonly profile?: string }> {
  const profiles: Record<string, SiteSpeed> = { ...BUILT_IN_PROFILES, ...clock.profiles };
  return new Map(
    hospitals.map((id) => {
      const declared = clock.hospitals[id] ?? {};
      const draw = clock.draw;
      const name =
        declared.profile ??
        (draw === undefined
          ? undefined
          : draw[stream(clock.seed ?? seed, 'clock-profile', id).int(draw.length)]);
      const base = name === undefined ? undefined : profiles[name];
      const speed = {
        samplesPerSecond: declared.samplesPerSecond ?? base?.samplesPerSecond,
        bandwidthMbps: declared.bandwidthMbps ?? base?.bandwidthMbps,
        latencyMs: declared.latencyMs ?? base?.latencyMs,
      };
      if (
        speed.samplesPerSecond === undefined ||
        speed.bandwidthMbps === undefined ||
        speed.latencyMs === undefined
      )
        throw new RangeError(`clock.hospitals.${id}: no compute speed or network`);
      return [id, { ...(name === undefined ? {} : { profile: name }), ...(speed as SiteSpeed) }];
    }),
  );
}

/** True when `[start, end)` overlaps one of the windows (each repeating every `every` seconds if given). */
export function overlapsWindow(
  windows: readonly { readonly from: number; readonly to: number; readonly every?: number }[],
  start: number,
  end: number,
): boolean {
  return windows.some((w) => {
    if (w.every === undefined) return w.from < end && w.to > start;
    // The first repetition that ends after `start`, then whether it begins before `end`.
    const k = Math.max(0, Math.floor((start - w.to) / w.every) + 1);
    return w.from + k * w.every < end;
  });
}

/** True when instant `t` lies in one of the windows: from ≤ t < to (or a repetition of it). */
export function withinWindow(
  windows: readonly { readonly from: number; readonly to: number; readonly every?: number }[],
  t: number,
): boolean {
  return windows.some((w) => {
    const k = w.every === undefined ? 0 : Math.max(0, Math.floor((t - w.from) / w.every));
    const shift = w.every === undefined ? 0 : k * w.every;
    return w.from + shift <= t && t < w.to + shift;
  });
}
