"""PyTorch peers of rankbench's losses, for `bench perf --peer torch`.

Each peer is the straightforward CPU float32 formulation a researcher would otherwise run,
written here from the public definitions:

- smooth-ap: the Smooth-AP paper's module (Brown et al., ECCV 2020): B x B x B tensors of
  pairwise score differences, a clamped temperature sigmoid, labels implied by equal-size
  contiguous class blocks, the query counted among its own positives.
- triplet: pytorch-metric-learning's TripletMarginMiner (all / hard / semihard by
  t = d_an - d_ap against the margin, from every triplet of the batch) followed by its
  TripletMarginLoss (relu(d_ap - d_an + margin), mean over the triplets with loss > 0), on
  Euclidean distances of L2-normalised embeddings.
- fast-ap: pytorch-metric-learning's FastAPLoss: triangular soft histograms of squared
  distances over bins + 1 centres in [0, 4], the query left out of its own histograms.
- blackbox-ap: ROADMAP's BlackBoxAP: ranks by double argsort, blackbox backward
  (-(r - r(s + lambda * grad)) / lambda), the query counted among its own positives, margin
  noise |N(0, 1)| * (target - 1/2) * margin.

Protocol (JSON lines): the first line written is {"peers": {...}} describing each loss; then for
every request line {"loss", "B", "D", "labels", "x" (a float64 little-endian file of B x D),
"params", "checkParams", "expect", "repeats", "budgetMs", "threads"} it answers one line: first
the peer computes the loss with checkParams (deterministic ones) and compares it with "expect"
(rankbench's value on the same batch); only if they agree does it time forward + backward with
"params". An answer is {"ok": true, "peerLoss", "medianMs", "minMs", "maxMs", "repeats",
"timesMs"} or {"ok": false, "error"}. A request with "timeOnly": true is a later round on a
batch whose check already passed: no check and no warm-up, just the repeats ("peerLoss" null);
bench perf alternates such rounds with its own, so both sides are timed under the same load.
"""

import json
import sys
import time

import torch
import torch.nn.functional as F

# A peer whose B x B x B tensors would exceed this is not run (the machine is shared).
MAX_CUBE_BYTES = 1.5 * 2**30
# |ours - peer| allowed, relative to max(1, |ours|): the peer computes in float32.
AGREE_REL = 1e-4


# --- smooth-ap: the paper's module ------------------------------------------------------------

def temp_sigmoid(t, temp):
    return 1.0 / (1.0 + torch.exp(torch.clamp(-t / temp, min=-50.0, max=50.0)))


def smooth_ap_paper(x, labels, params):
    tau = params["tau"]
    if not params.get("includeQuery", True):
        raise ValueError("the paper's module counts the query among its positives; includeQuery=false has no peer")
    b, d = x.shape
    group = int((labels == labels[0]).sum())
    if b % group or not torch.equal(labels, labels.view(-1, group)[:, :1].expand(-1, group).reshape(-1)):
        raise ValueError("the paper's module needs contiguous classes of equal size")
    classes = b // group
    off_diag = (1.0 - torch.eye(b)).unsqueeze(0).repeat(b, 1, 1)
    sim = x @ x.t()
    rep = sim.unsqueeze(1).repeat(1, b, 1)
    # diff[q, i, j] = s_qj - s_qi; rank of i among all = 1 + sum over j != i of sigmoid(diff / tau).
    rank_all = (temp_sigmoid(rep - rep.permute(0, 2, 1), tau) * off_diag).sum(-1) + 1
    xs = x.view(classes, group, d)
    pos_off_diag = (1.0 - torch.eye(group)).unsqueeze(0).unsqueeze(0).repeat(classes, group, 1, 1)
    sim_pos = torch.bmm(xs, xs.permute(0, 2, 1))
    rep_pos = sim_pos.unsqueeze(2).repeat(1, 1, group, 1)
    rank_pos = (temp_sigmoid(rep_pos - rep_pos.permute(0, 1, 3, 2), tau) * pos_off_diag).sum(-1) + 1
    ap = torch.zeros(1)
    for c in range(classes):
        block = rank_all[c * group:(c + 1) * group, c * group:(c + 1) * group]
        ap = ap + (rank_pos[c] / block).sum() / group / b
    return 1 - ap.squeeze()


# --- pytorch-metric-learning's distances, miner and losses ----------------------------------

def lp_distances(x, power):
    e = F.normalize(x, p=2, dim=1)
    d = torch.cdist(e, e, p=2)
    return d if power == 1 else d ** power


def pairs_same_and_different(labels):
    same = (labels.unsqueeze(1) == labels.unsqueeze(0)).byte()
    diff = same ^ 1
    same.fill_diagonal_(0)
    return same, diff


def triplet_pml(x, labels, params):
    margin = params["margin"]
    mining = params["mining"]
    if mining not in ("all", "hard", "semihard"):
        raise ValueError(f"mining {mining!r} has no pytorch-metric-learning TripletMarginMiner peer")
    same, diff = pairs_same_and_different(labels)
    a, p, n = torch.where(same.unsqueeze(2) * diff.unsqueeze(1))
    with torch.no_grad():
        mat = lp_distances(x, 1)
        t = mat[a, n] - mat[a, p]
        keep = t <= margin
        if mining == "hard":
            keep &= t <= 0
        elif mining == "semihard":
            keep &= t > 0
        a, p, n = a[keep], p[keep], n[keep]
    mat = lp_distances(x, 1)
    losses = F.relu(mat[a, p] - mat[a, n] + margin)
    nonzero = losses > 0
    if int(nonzero.sum()) == 0:
        return losses.sum() * 0
    return losses[nonzero].mean()


def fast_ap_pml(x, labels, params):
    bins = int(params["bins"])
    same, diff = pairs_same_and_different(labels)
    same, diff = same.float(), diff.float()
    n_pos = same.sum(1)
    has_pos = n_pos > 0
    dist = lp_distances(x, 2)
    delta = 4.0 / bins
    centres = torch.linspace(0.0, 4.0, steps=bins + 1).view(-1, 1, 1)
    pulse = F.relu(1 - torch.abs(dist - centres) / delta)
    h_pos = (pulse * same).sum(2).t()
    h_neg = (pulse * diff).sum(2).t()
    cum_pos = torch.cumsum(h_pos, 1)
    cum_all = torch.cumsum(h_pos + h_neg, 1)
    prod = h_pos * cum_pos
    ok = (prod > 0) & (cum_all > 0)
    fast_ap = torch.zeros_like(h_pos)
    fast_ap[ok] = prod[ok] / cum_all[ok]
    fast_ap = fast_ap.sum(1)[has_pos] / n_pos[has_pos]
    return (1 - fast_ap).mean()


# --- blackbox-ap: ROADMAP's BlackBoxAP --------------------------------------------------------

def normalised_ranks(seq):
    return (torch.argsort(torch.argsort(seq).flip(1)) + 1).float() / seq.size(1)


class BlackboxRanker(torch.autograd.Function):
    @staticmethod
    def forward(ctx, seq, lam):
        r = normalised_ranks(seq)
        ctx.lam = lam
        ctx.save_for_backward(seq, r)
        return r

    @staticmethod
    def backward(ctx, grad):
        seq, r = ctx.saved_tensors
        moved = normalised_ranks(seq + ctx.lam * grad)
        return -(r - moved) / (ctx.lam + 1e-8), None


def blackbox_ap_roadmap(x, labels, params):
    lam = params["lambda"]
    margin = params["margin"]
    scores = x @ x.t()
    targets = (labels.unsqueeze(1) == labels.unsqueeze(0)).float()
    scores = scores - margin * torch.abs(torch.randn_like(targets)) * (targets - 0.5)
    ranks = BlackboxRanker.apply(scores, lam)
    within = normalised_ranks(-ranks + 2.0 * targets).detach()
    precision = ((within / ranks) * targets).sum(1) / (targets.sum(1) + 1e-5)
    return 1.0 - precision.mean()


PEERS = {
    "smooth-ap": (smooth_ap_paper, "the paper's Smooth-AP module", {}, lambda b: 4 * b ** 3),
    "triplet": (triplet_pml, "pytorch-metric-learning TripletMarginMiner + TripletMarginLoss", {}, lambda b: b ** 3),
    "fast-ap": (fast_ap_pml, "pytorch-metric-learning FastAPLoss", {}, lambda b: 0),
    # The margin noise is random: the agreement check runs without it.
    "blackbox-ap": (blackbox_ap_roadmap, "ROADMAP's BlackBoxAP", {"margin": 0}, lambda b: 0),
}


def answer(req):
    fn, _, _, cube = PEERS[req["loss"]]
    b, d = req["B"], req["D"]
    if cube(b) > MAX_CUBE_BYTES:
        return {"ok": False, "error": f"not run: one B x B x B tensor of the peer is {cube(b) / 2**30:.1f} GiB"}
    torch.set_num_threads(req.get("threads", 2))
    with open(req["x"], "rb") as f:
        raw = f.read()
    x64 = torch.frombuffer(bytearray(raw), dtype=torch.float64).view(b, d)
    x0 = x64.float()
    labels = torch.tensor(req["labels"], dtype=torch.int64)
    torch.manual_seed(0)
    time_only = bool(req.get("timeOnly", False))
    check_start = time.perf_counter()
    value = None
    if not time_only:
        try:
            value = float(fn(x0.clone(), labels, req["checkParams"]))
        except ValueError as e:
            return {"ok": False, "error": f"not run: {e}"}
        expect = req["expect"]
        if not abs(value - expect) <= AGREE_REL * max(1.0, abs(expect)):
            return {"ok": False, "error": f"peer disagrees: its loss {value!r}, rankbench's {expect!r}", "peerLoss": value}

    def step():
        xg = x0.clone().requires_grad_(True)
        fn(xg, labels, req["params"]).backward()
        return xg.grad

    budget = req.get("budgetMs", 10_000) / 1000
    # The check was a forward pass already; a case that slow gets no further warm-up.
    warmups = 0 if time_only or time.perf_counter() - check_start > budget / 4 else 3
    start = time.perf_counter()
    for _ in range(warmups):
        step()
        if time.perf_counter() - start > budget / 4:
            break
    times = []
    start = time.perf_counter()
    while len(times) < req.get("repeats", 30):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
        if time.perf_counter() - start > budget:
            break
    taken = [round(t, 4) for t in times]
    times.sort()
    mid = len(times) // 2
    median = times[mid] if len(times) % 2 else (times[mid - 1] + times[mid]) / 2
    r = lambda v: round(v, 2)
    return {"ok": True, "peerLoss": value, "medianMs": r(median), "minMs": r(times[0]), "maxMs": r(times[-1]), "repeats": len(times), "timesMs": taken}


def warm_allocator():
    # glibc serves large blocks by mmap until a freed one raises its threshold; until then every
    # B x B x bins tensor faults its pages in afresh (measured: FastAPLoss at B=224 took 16-180 ms
    # as the first case of a process, 6-16 ms after others). A long training process is past
    # that point, so the peers are measured there too, whichever case runs first.
    for mb in (8, 16, 32):
        del_me = torch.ones(mb * 2**18)
        del del_me


def main():
    warm_allocator()
    out = sys.stdout
    out.write(json.dumps({"peers": {k: {"peer": v[1], "check": v[2]} for k, v in PEERS.items()}, "torch": torch.__version__}) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            res = answer(json.loads(line))
        except Exception as e:  # one failed case must not end the others
            res = {"ok": False, "error": f"failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"}
        out.write(json.dumps(res) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
