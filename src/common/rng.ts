import seedrandom from 'seedrandom';

/** A seeded random stream. Every random choice in fedmed draws from one, named by its purpose. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal deviate. */
  normal(): number;
}

/**
 * The stream named `seed/purpose/ids…`, for example `stream(7, 'data', 'kr-seoul-1')` or
 * `stream(7, 'sample', 'round-3')`. The same name always yields the same sequence, whichever thread asks.
 */
export function stream(seed: number, ...path: readonly (string | number)[]): Rng {
  return fromPrng(seedrandom.alea([String(seed), ...path.map(String)].join('/')));
}

function fromPrng(prng: () => number): Rng {
  let spare: number | undefined;
  return {
    next: () => prng(),
    int: (n) => Math.floor(prng() * n),
    normal: () => {
      if (spare !== undefined) {
        const s = spare;
        spare = undefined;
        return s;
      }
      let u = 0;
      while (u === 0) u = prng();
      const v = prng();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
  };
}

/** A uniformly random permutation of 0…n-1 (Fisher–Yates). */
export function permutation(n: number, rng: Rng): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}
