import type { StateValue, StrategyState } from './strategy.ts';

/**
 * The vector `key` of a strategy's saved state: a Float64Array (copied) or undefined for a saved `null`;
 * anything else is a RangeError naming the strategy and the key.
 */
export function savedFloat64(strategy: string, state: StrategyState, key: string): Float64Array | undefined {
  return saved(strategy, state, key, Float64Array);
}

/** As {@link savedFloat64}, for a Float32Array. */
export function savedFloat32(strategy: string, state: StrategyState, key: string): Float32Array | undefined {
  return saved(strategy, state, key, Float32Array);
}

function saved<T extends Float32Array | Float64Array>(
  strategy: string,
  state: StrategyState,
  key: string,
  type: { new (source: ArrayLike<number>): T },
): T | undefined {
  const v: StateValue | undefined = state[key];
  if (v === null) return undefined;
  if (!(v instanceof type)) {
    throw new RangeError(`${strategy}: the checkpoint's state lacks its ${key} vector`);
  }
  return new type(v);
}

/** A saved vector, or null for one not made yet. */
export function vectorOrNull<T extends Float32Array | Float64Array>(v: T | undefined): T | null {
  return v === undefined ? null : (v.slice() as T);
}
