/** Number of the first `len` entries of an ascending array that are < v. */
export function lowerBound(sortedAsc: Float64Array, len: number, v: number): number {
  let lo = 0;
  let hi = len;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sortedAsc[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Number of the first `len` entries of an ascending array that are ≤ v. */
export function upperBound(sortedAsc: Float64Array, len: number, v: number): number {
  let lo = 0;
  let hi = len;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sortedAsc[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
