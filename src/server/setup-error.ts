/** A hospital's setup failed: bad input (exit 2) unless its worker failed in a way no input explains. */
export class SetupError extends Error {
  override readonly name = 'SetupError';
  constructor(
    message: string,
    /** True when the hospital reported bad input or a backend that cannot load. */
    readonly badInput: boolean,
  ) {
    super(message);
  }
}
