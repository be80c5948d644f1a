import { permutation, stream, type Rng } from '../rng.ts';

/** Who shares secrets and masks with whom in a round: hospitals 1…n, each with its ascending neighbour list. */
export interface NeighbourGraph {
  readonly participants: number;
  /** `neighbours[u − 1]`: hospital u's neighbours, ascending, without u. */
  readonly neighbours: readonly Uint32Array[];
}

/** SecAgg's graph: every hospital neighbours every other. */
export function completeGraph(participants: number): NeighbourGraph {
  const neighbours = Array.from({ length: participants }, (_, i) => {
    const list = new Uint32Array(participants - 1);
    for (let v = 1, j = 0; v <= participants; v++) if (v !== i + 1) list[j++] = v;
    return list;
  });
  return { participants, neighbours };
}

/**
 * SecAgg+'s sparse graph (Bell et al. 2020): a Harary graph H(k, n) under a random labelling. The hospitals
 * are placed on a ring in the order of a permutation drawn from `rng` (a public stream, the same for every
 * party), and each is joined to the k/2 nearest on either side: k-regular, k-connected. `k` must be even
 * and below n (see `validateSecAggSettings`).
 */
export function hararyGraph(participants: number, k: number, rng: Rng): NeighbourGraph {
  if (!Number.isInteger(k) || k % 2 !== 0 || k < 2 || k > participants - 1) {
    throw new RangeError(
      `a Harary graph on ${participants} nodes needs an even k in [2, ${participants - 1}]`,
    );
  }
  const ring = permutation(participants, rng);
  const sets = Array.from({ length: participants }, () => new Set<number>());
  for (let pos = 0; pos < participants; pos++) {
    const u = ring[pos]! + 1;
    for (let d = 1; d <= k / 2; d++) {
      const v = ring[(pos + d) % participants]! + 1;
      sets[u - 1]!.add(v);
      sets[v - 1]!.add(u);
    }
  }
  return { participants, neighbours: sets.map((s) => Uint32Array.from([...s].sort((a, b) => a - b))) };
}

/** Hospital u's group: u and its neighbours, ascending; the holders of u's shares. */
export function groupOf(graph: NeighbourGraph, u: number): Uint32Array {
  const neighbours = graph.neighbours[u - 1];
  if (neighbours === undefined) throw new RangeError(`hospital ${u} is not in the graph`);
  return Uint32Array.from([...neighbours, u].sort((a, b) => a - b));
}

/** Whether u and v are neighbours. */
export function areNeighbours(graph: NeighbourGraph, u: number, v: number): boolean {
  const list = graph.neighbours[u - 1];
  return list !== undefined && binarySearch(list, v);
}

function binarySearch(list: Uint32Array, x: number): boolean {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid] === x) return true;
    if (list[mid]! < x) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/**
 * The public graph of one round: SecAgg+'s Harary graph H(k, n) labelled by `stream(seed, 'secagg-graph',
 * 'round-N')`, which every party can draw, or the complete graph when k is absent or k ≥ n − 1.
 */
export function roundGraph(participants: number, seed: number, round: number, k?: number): NeighbourGraph {
  return k === undefined || k >= participants - 1
    ? completeGraph(participants)
    : hararyGraph(participants, k, stream(seed, 'secagg-graph', `round-${round}`));
}
