import type { Source } from '../../protocol/jurisdiction/enforcer.ts';

/** Whether sorted `a` is within sorted `b` (lists sorted by UTF-16 code units, as `sort()` does, and distinct). */
export function isSubset(a: readonly Source[], b: readonly Source[]): boolean {
  if (a.length > b.length) return false;
  let j = 0;
  for (const s of a) {
    while (j < b.length && b[j]! < s) j++;
    if (j === b.length || b[j] !== s) return false;
    j++;
  }
  return true;
}

/** Sorted `b` without the elements of sorted `a`. */
export function difference(b: readonly Source[], a: readonly Source[]): Source[] {
  const out: Source[] = [];
  let i = 0;
  for (const s of b) {
    while (i < a.length && a[i]! < s) i++;
    if (i < a.length && a[i] === s) continue;
    out.push(s);
  }
  return out;
}

/** The sorted union of sorted `a` and `b`, each element once. */
export function union(a: readonly Source[], b: readonly Source[]): Source[] {
  const out: Source[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x < y)) out.push(a[i++]!);
    else if (x === undefined || y < x) out.push(b[j++]!);
    else {
      out.push(a[i++]!);
      j++;
    }
  }
  return out;
}

/** The sorted union of sorted lists; a list within the union so far costs one pass and no copy. */
export function unionAll(lists: readonly (readonly Source[])[]): readonly Source[] {
  const bySize = [...lists].sort((a, b) => b.length - a.length);
  let out: readonly Source[] = bySize[0] ?? [];
  for (const list of bySize.slice(1)) if (list !== out && !isSubset(list, out)) out = union(out, list);
  return out;
}

/** Sorted `sorted` with `s` in its place (`sorted` itself when it holds `s` already). */
export function withSource(sorted: readonly Source[], s: Source): readonly Source[] {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < s) lo = mid + 1;
    else hi = mid;
  }
  if (sorted[lo] === s) return sorted;
  return [...sorted.slice(0, lo), s, ...sorted.slice(lo)];
}
