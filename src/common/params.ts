/** One named tensor inside a flat parameter vector. */
export interface TensorSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** Index of the tensor's first element in the flat vector. */
  readonly offset: number;
  /** Number of elements (product of the shape). */
  readonly size: number;
}

/** Names, shapes and offsets of every tensor in a model's flat `Float32Array` of parameters. */
export interface ParamSpec {
  readonly tensors: readonly TensorSpec[];
  /** Total number of parameters: the length of the flat vector. */
  readonly length: number;
}

/** Builds a spec by laying the tensors end to end in the given order. */
export function makeSpec(entries: readonly { name: string; shape: readonly number[] }[]): ParamSpec {
  let offset = 0;
  const tensors = entries.map(({ name, shape }) => {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 1)
        throw new Error(`tensor ${name}: dimension ${d} is not a positive integer`);
    }
    const size = shape.reduce((a, b) => a * b, 1);
    const t: TensorSpec = { name, shape: [...shape], offset, size };
    offset += size;
    return t;
  });
  return { tensors, length: offset };
}

/** A view (no copy) of one tensor's elements inside the flat vector. */
export function tensorView(params: Float32Array, t: TensorSpec): Float32Array {
  return params.subarray(t.offset, t.offset + t.size);
}
