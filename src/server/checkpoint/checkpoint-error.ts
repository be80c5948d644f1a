/** A checkpoint that cannot be used, and why. A resume that meets one exits 2 and changes nothing. */
export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
}
