import semver from 'semver';
import { InputError } from '../scenario/load.ts';

/**
 * The versions of fedmed whose outputs this fedmed can report: the same major version, and while the major
 * is 0 the same minor one (semver's caret range `^major.minor.0`), so a newer patch reads older runs and a
 * run from another minor (0.x) or major (≥ 1) release, older or newer, is refused.
 */
export function compatibleRange(reader: string): string {
  const v = semver.parse(reader);
  if (v === null) throw new Error(`fedmed's own version "${reader}" is not a semantic version`);
  return `^${v.major}.${v.minor}.0`;
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
        `it reads outputs of versions ${range.slice(1)} up to the next ${semver.major(reader) === 0 ? 'minor' : 'major'} release`,
    );
  }
}
