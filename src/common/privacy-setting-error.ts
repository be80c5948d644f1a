/**
 * A secure-aggregation or differential-privacy setting outside its valid range. Names the field (a scenario
 * path such as `privacy.secureAggregation.threshold`) and the valid range, and carries the offending number:
 * settings are public configuration, never patient data.
 */
export class PrivacySettingError extends RangeError {
  override readonly name = 'PrivacySettingError';
  constructor(
    readonly field: string,
    readonly expected: string,
    readonly got: number | string,
  ) {
    super(`${field} must be ${expected}, got ${got}`);
  }
}
