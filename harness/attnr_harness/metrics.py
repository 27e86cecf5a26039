"""Retrieval metrics over character ranges.

A returned range is relevant when at least half of it lies inside one gold
range. Recall@k is the fraction of gold ranges hit by a relevant range in
the top k (for one gold range: hit@k). F1 compares the characters of the
top-1 range with the union of the gold ranges. cover-all@5 (multi-gold
queries): every gold range has at least half of it inside some top-5 range
of at most 1,500 characters.
"""


def _overlap(a, b):
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def relevant_to(rng, gold):
    """Index of the gold range holding at least half of `rng`, or None."""
    length = rng[1] - rng[0]
    for i, g in enumerate(gold):
        if length > 0 and 2 * _overlap(rng, g) >= length:
            return i
    return None


def score_query(ranked, gold):
    """ranked: [[start, end], ...] best first; gold: [[start, end], ...]."""
    rr = 0.0
    for rank, r in enumerate(ranked[:10], 1):
        if relevant_to(r, gold) is not None:
            rr = 1.0 / rank
            break

    def recall(k):
        hit = {relevant_to(r, gold) for r in ranked[:k]} - {None}
        return len(hit) / len(gold)

    f1 = 0.0
    if ranked:
        top = ranked[0]
        inter = sum(_overlap(top, g) for g in gold)
        gold_len = sum(g[1] - g[0] for g in gold)
        if inter > 0:
            p = inter / (top[1] - top[0])
            r = inter / gold_len
            f1 = 2 * p * r / (p + r)
    out = {"mrr10": rr, "r1": recall(1), "r5": recall(5), "f1": f1}
    if len(gold) > 1:
        small = [r for r in ranked[:5] if r[1] - r[0] <= 1500]
        out["cover5"] = float(all(
            any(2 * _overlap(g, r) >= g[1] - g[0] for r in small)
            for g in gold))
    return out


def recall_at(ranked, gold, k):
    """Share of the gold ranges that some range of ranked[:k] is relevant to."""
    hit = {relevant_to(r, gold) for r in ranked[:k]} - {None}
    return len(hit) / len(gold)


def aggregate(per_query):
    """Mean of each metric over the queries that have it."""
    keys = sorted({k for q in per_query for k in q})
    out = {}
    for k in keys:
        vals = [q[k] for q in per_query if k in q]
        out[k] = sum(vals) / len(vals) if vals else None
    out["n"] = len(per_query)
    return out
