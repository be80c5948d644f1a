/**
 * Range of the Dirichlet concentration α. Below 0.001 every draw already gives each class to one hospital, and
 * the Gamma draws underflow to zero, so the partition could not be drawn at all.
 */
export const MIN_DIRICHLET_ALPHA = 0.001;
export const MAX_DIRICHLET_ALPHA = 1e6;
