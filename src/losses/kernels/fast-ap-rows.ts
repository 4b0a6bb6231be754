/**
 * FastAP's own pass over S (Cakir et al., CVPR 2019; the loss is losses/fast-ap.ts): for each
 * query, the soft histograms of its d² = 2 − 2s over bins+1 centres z_l = l·Δ, Δ = 4/bins, with
 * the triangular kernel max(0, 1 − |d² − z_l|/Δ), its AP estimate, and its row of G = ∂L/∂S.
 * Each item falls in at most two adjacent bins, so a query costs O(B + bins). The query itself
 * is in neither histogram (standard convention).
 *
 * Queries are independent: a range of them is one block of the pool job 'fast-ap-rows'
 * (kernels/jobs.ts), so the pass runs on every thread, reading S and writing G in the shared
 * memory; the same function serves the float64 path on this thread alone.
 *
 * ∂L/∂s_qj depends only on j's lower bin l0 = ⌊d²/Δ⌋ and on whether j is a positive, so the
 * backward pass computes it once per (bin, positive or not) and each pair just looks up the
 * value of the slot it fell into during the forward pass (no second ⌊·⌋ or range test per pair).
 */

/** The pass's inputs and outputs; S is read only on and above its diagonal (a symmetric product computes no more). */
export interface FastApRows {
  /** S (n rows of stride ld): s_qj at q·ld + j for j ≥ q, at j·ld + q for j < q. */
  s: Float64Array | Float32Array;
  ld: number;
  n: number;
  /** G (n×n, row-major): row q is written by query q; all zeros for a query without positives. */
  g: Float64Array;
  /** Compact class id per item, and the positives of each item (its class's size − 1). */
  classOf: Int32Array;
  nPos: Int32Array;
  /** Queries with a positive: the Q of the mean over queries. */
  queries: number;
  bins: number;
  /** Per query: AP estimate (NaN without positives) and the non-zero entries of its row of G. */
  ap: Float64Array;
  nnz: Int32Array;
}

/** One thread's working arrays, kept from call to call (sized for the largest n and bins so far). */
let work: { hist: Float64Array; gSlot: Float64Array; slotOf: Int32Array; bins: Float64Array } | null = null;

function workFor(n: number, bins: number) {
  const W = bins + 5;
  if (!work || work.slotOf.length < n || work.hist.length < 2 * W) {
    const m = Math.max(n, work?.slotOf.length ?? 0);
    const w = Math.max(2 * W, work?.hist.length ?? 0);
    work = { hist: new Float64Array(w), gSlot: new Float64Array(w), slotOf: new Int32Array(m), bins: new Float64Array(2 * w) };
  }
  return work;
}

/** Runs queries q0..q1 (see FastApRows). */
export function fastApRows(r: FastApRows, q0: number, q1: number): void {
  const { s, ld, n, g, classOf, nPos: nPosOf, queries, bins, ap, nnz } = r;
  const L = bins + 1;
  const delta = 4 / bins;
  // Slots of one histogram: bin l at slot l + 2. A pair whose lower bin l0 is −1 or L−1 has one
  // of its two weights off the end, and one with l0 further out both: l0 is clamped to [−2, L],
  // so those weights land in the two slots at either end, which are never read. This keeps the
  // per-pair work free of range tests. Negatives' slots come first, positives' W further.
  const W = L + 4;
  const w = workFor(n, bins);
  const { hist, gSlot, slotOf } = w;
  // ∂L/∂s for a pair in slot k (its lower bin k − 2), negatives then positives as in `hist`;
  // cumulative histograms and ∂F/∂h⁺_l, ∂F/∂h⁻_l of the current query.
  const cumPos = w.bins.subarray(0, L);
  const cumAll = w.bins.subarray(L, 2 * L);
  const dPos = w.bins.subarray(2 * L, 3 * L);
  const dNeg = w.bins.subarray(3 * L, 4 * L);

  for (let q = q0; q < q1; q++) {
    const nPos = nPosOf[q]!;
    const row = q * n;
    if (nPos === 0) {
      g.fill(0, row, row + n);
      ap[q] = NaN;
      nnz[q] = 0;
      continue;
    }
    const c = classOf[q]!;
    hist.fill(0, 0, 2 * W);
    // Items before q: column q above the diagonal; after it: row q.
    for (let j = 0; j < q; j++) {
      const u = (2 - 2 * s[j * ld + q]!) / delta;
      const l0 = Math.floor(u);
      const frac = u - l0;
      const k = (classOf[j] === c ? W : 0) + (l0 < -2 ? 0 : l0 > L ? L + 2 : l0 + 2);
      hist[k]! += 1 - frac;
      hist[k + 1]! += frac;
      slotOf[j] = k;
    }
    const sRow = q * ld;
    for (let j = q + 1; j < n; j++) {
      const u = (2 - 2 * s[sRow + j]!) / delta;
      const l0 = Math.floor(u);
      const frac = u - l0;
      const k = (classOf[j] === c ? W : 0) + (l0 < -2 ? 0 : l0 > L ? L + 2 : l0 + 2);
      hist[k]! += 1 - frac;
      hist[k + 1]! += frac;
      slotOf[j] = k;
    }
    // FastAP_q = (1/N⁺) Σ_l f_l, f_l = h⁺_l·H⁺_l/H_l over active bins (h⁺_l·H⁺_l > 0, H_l > 0).
    // For active l: ∂f_l/∂h⁺_m = [m=l]·H⁺_l/H_l + [m≤l]·(h⁺_l − f_l)/H_l and ∂f_l/∂h⁻_m = −[m≤l]·f_l/H_l;
    // the [m≤l] parts are suffix sums, collected from the top bin down.
    let cp = 0;
    let ca = 0;
    for (let l = 0; l < L; l++) {
      const hp = hist[W + l + 2]!;
      cp += hp;
      ca += hp + hist[l + 2]!;
      cumPos[l] = cp;
      cumAll[l] = ca;
    }
    let fsum = 0;
    let sufPos = 0;
    let sufNeg = 0;
    for (let l = L - 1; l >= 0; l--) {
      const hp = hist[W + l + 2]!;
      const f = hp * cumPos[l]!;
      const h = cumAll[l]!;
      let own = 0;
      if (f > 0 && h > 0) {
        const fl = f / h;
        fsum += fl;
        sufPos += (hp - fl) / h;
        sufNeg -= fl / h;
        own = cumPos[l]! / h;
      }
      dPos[l] = own + sufPos;
      dNeg[l] = sufNeg;
    }
    ap[q] = fsum / nPos;
    // ∂L/∂s_qj = −1/(Q·N⁺) · Σ_l ∂F/∂h_l · ∂δ_l/∂u · ∂u/∂s, with ∂u/∂s = −2/Δ and
    // ∂δ/∂u = −1 on bin l0, +1 on bin l0+1 (a bin off the end contributes 0).
    const scale = (-1 / (queries * nPos)) * (-2 / delta);
    for (let k = 0; k < W - 1; k++) {
      const lo = k - 2;
      const hi = k - 1;
      gSlot[k] = scale * ((hi >= 0 && hi < L ? dNeg[hi]! : 0) - (lo >= 0 && lo < L ? dNeg[lo]! : 0));
      gSlot[W + k] = scale * ((hi >= 0 && hi < L ? dPos[hi]! : 0) - (lo >= 0 && lo < L ? dPos[lo]! : 0));
    }
    let nz = 0;
    for (let j = 0; j < q; j++) {
      const v = gSlot[slotOf[j]!]!;
      g[row + j] = v;
      if (v !== 0) nz++;
    }
    g[row + q] = 0;
    for (let j = q + 1; j < n; j++) {
      const v = gSlot[slotOf[j]!]!;
      g[row + j] = v;
      if (v !== 0) nz++;
    }
    nnz[q] = nz;
  }
}

/**
 * The parameters of a 'fast-ap-rows' job, in the order they are passed to the pool: byte
 * offsets into the shared memory of S (float32 when sBytes is 4, else float64; ld entries a
 * row), G (float64), classOf, nPos and nnz (int32) and ap (float64); then n, queries, bins and
 * the queries per block.
 */
export const FAST_AP_ROWS_PARAMS = ['sOff', 'sBytes', 'ld', 'gOff', 'classOff', 'nPosOff', 'nnzOff', 'apOff', 'n', 'queries', 'bins', 'perBlock'] as const;

/** Block `idx` of a 'fast-ap-rows' job: queries idx·perBlock onwards. */
export function fastApRowsBlock(_kernels: unknown, p: Int32Array, idx: number, memory: ArrayBufferLike): void {
  const n = p[8]!;
  const ld = p[2]!;
  const rows: FastApRows = {
    s: p[1] === 4 ? new Float32Array(memory, p[0]!, n * ld) : new Float64Array(memory, p[0]!, n * ld),
    ld,
    n,
    g: new Float64Array(memory, p[3]!, n * n),
    classOf: new Int32Array(memory, p[4]!, n),
    nPos: new Int32Array(memory, p[5]!, n),
    nnz: new Int32Array(memory, p[6]!, n),
    ap: new Float64Array(memory, p[7]!, n),
    queries: p[9]!,
    bins: p[10]!,
  };
  const q0 = idx * p[11]!;
  fastApRows(rows, q0, Math.min(n, q0 + p[11]!));
}
