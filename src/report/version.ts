import semver from 'semver';
import { InputError } from '../scenario/load.ts';

/**
 * The versions of fedmed whose outputs this fedmed can report, as a semver range: the same major version
 * (`^2.0.0`), and while the major is 0 the same minor one (`^0.1.0`), where semver lets any release change
 * the formats. Within it, fields a release adds are shown without being known; outside it, older or newer,
 * a run is refused.
 */
export function compatibleRange(reader: string): string {
  const v = semver.parse(reader);
  if (v === null) throw new Error(`fedmed's own version "${reader}" is not a semantic version`);
  return v.major === 0 ? `^0.${v.minor}.0` : `^${v.major}.0.0`;
}

/** Throws an InputError unless `written` (the `fedmed` field of `file`) is in {@link compatibleRange}. */
export function checkVersion(file: string, written: string, reader: string): void {
  const range = compatibleRange(reader);
  if (semver.valid(written) === null) {
    throw new InputError(`${file}: $.fedmed: expected fedmed's version as major.minor.patch`);
  }
  if (!semver.satisfies(written, range, { includePrerelease: true })) {
    throw new InputError(
      `${file}: written by fedmed ${written}, which this fedmed ${reader} cannot report: ` +
        `it reads outputs of fedmed ${semver.major(reader) === 0 ? `0.${semver.minor(reader)}` : semver.major(reader)}.x`,
    );
  }
}
