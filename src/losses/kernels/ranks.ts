/** Number of entries of an ascending array that are ≥ v (binary search for the first one). */
export function countAtLeast(sortedAsc: Float64Array, v: number): number {
  let lo = 0;
  let hi = sortedAsc.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sortedAsc[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return sortedAsc.length - lo;
}
