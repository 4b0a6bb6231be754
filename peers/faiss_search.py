"""The faiss peer of `bench perf --suite eval --peer faiss`.

Times what a user would otherwise run for retrieval metrics: faiss's exact inner-product index
(IndexFlatIP) searching every row for its top k neighbours, leave-one-out (k + 1 are searched
and the query itself is dropped from its own list). Only `index.search` is timed; building the
index is not. From the lists it computes Recall@K for the cut-offs asked, so the caller can
check that both sides ranked the same items before comparing times.

Usage: faiss_search.py REQUEST.json, where the request holds
  x        file of n×d float32 values, little-endian, row-major
  labels   file of n int32 class ids, little-endian
  n, d, k, threads, repeats, ks
and one JSON line is printed: {"ok": true, "timesMs": [one per repeat], "recallAt": {"1": ..},
"faiss": version} or {"ok": false, "error": ...}.
"""

import json
import sys
import time

import numpy as np


def recall_at(neighbours, labels, ks):
    hits = labels[neighbours] == labels[:, None]
    # Queries whose class has no other item have nothing to retrieve and are left out, as in rankbench.
    counts = np.bincount(labels - labels.min())
    has_positive = counts[labels - labels.min()] > 1
    out = {}
    for k in ks:
        found = hits[:, :k].any(axis=1)
        # null (JSON has no NaN) when no query has a positive.
        out[str(k)] = float(found[has_positive].mean()) if has_positive.any() else None
    return out


def main():
    try:
        import faiss
    except ImportError as e:
        print(json.dumps({"ok": False, "error": f"cannot import faiss: {e}"}))
        return
    with open(sys.argv[1], encoding="utf-8") as f:
        req = json.load(f)
    n, d, k = req["n"], req["d"], req["k"]
    x = np.fromfile(req["x"], dtype="<f4").reshape(n, d)
    labels = np.fromfile(req["labels"], dtype="<i4").astype(np.int64)
    faiss.omp_set_num_threads(req["threads"])
    index = faiss.IndexFlatIP(d)
    index.add(x)
    times = []
    ids = None
    for _ in range(req["repeats"]):
        t0 = time.perf_counter()
        _, ids = index.search(x, min(k + 1, n))
        times.append((time.perf_counter() - t0) * 1000)
    # Drop each query from its own list (the stable sort keeps the others in rank order).
    keep = ids != np.arange(n)[:, None]
    order = np.argsort(~keep, axis=1, kind="stable")[:, : min(k, n - 1)]
    neighbours = np.take_along_axis(ids, order, axis=1)
    print(
        json.dumps(
            {
                "ok": True,
                "timesMs": times,
                "recallAt": recall_at(neighbours, labels, [kk for kk in req["ks"] if kk <= k]),
                "faiss": faiss.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
