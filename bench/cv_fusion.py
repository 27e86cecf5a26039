#!/usr/bin/python3
"""Fusion chosen by cross-validation over documents on real questions
(issue 33), never on synthetic queries nor on the dev sets.

    bench/cv_fusion.py [--corpus ~/.cache/attnr-train/corpus/corpus.json]
                       [--out bench/results]

1. The real server (the repository's config, the entity scope off) judges
   every passage of every document of the corpus's real part, and of the
   dev sets, with the lexical, dense and entity views after Prepare: each
   question's raw per-view scores of every passage (cached beside the
   corpus; a rerun resumes).
2. Folds by document (k = 6, balanced by questions): every method is fitted
   on five folds' documents and scored on the sixth's:
     - each view alone;
     - weighted reciprocal-rank fusion (k = 60; today's default);
     - convex combinations of per-question min-max and z-score normalised
       scores (Bruch, Gai & Ingber, ACM TOIS 2023);
     - a logistic model over per-view features (raw, min-max and z-score
       normalised scores, reciprocal ranks).
3. The method with the best mean MRR@10 is fitted on every real question;
   its calibration (P(relevant) of returned passages) is measured on the
   held-out folds (expected calibration error over each question's top 10)
   and the dev sets are scored with it.
With --compare-passage-sizes 64,96,128,192 the cross-validation is also run
on passages of each size (each judged once, cached apart), for the choice
of the config's default_passage_tokens.
Writes FUSION.md, fusion_cv.json and the reliability plot
(fusion_reliability.png) to --out, the fitted parameters to --model
(model/weights/attnr-fusion-1.0.0.json) and test vectors to --vectors.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

_BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_BENCH, os.path.join(os.path.dirname(_BENCH), "harness")]
from attnr_harness import faq_sets, metrics, server_config, service  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VIEWS = ("lexical", "dense", "entity")
FOLDS = 6
RRF_K = 60


# ---- 1. Per-passage raw scores from the real server -----------------------

def tuning_config(path, passage_tokens=0, every_passage=True):
    """The repository's config with no fusion model (the fusion is what is
    being chosen: the derived configs set their own), the scope off and
    (`every_passage`) every passage returned; passages of `passage_tokens`
    (0: the config's)."""
    cfg = server_config.load(path)
    cfg.remove("views.fusion.model").remove("views.fusion.model_sha256")
    if every_passage:
        cfg.set("limits.max_top_k", 20000)
        cfg.set("views.entity_scope", False)
    if passage_tokens:
        cfg.set("limits.default_passage_tokens", passage_tokens)
        cfg.set("limits.max_passage_tokens", max(passage_tokens, 512))
    return cfg


def judge(server, doc, queries):
    """{query: [[start, end, lexical, dense, entity], ...]} in document
    order (keyed by the question's text, which does not move when the
    corpus changes)."""
    responses = server.retrieve_batch(doc["text"], queries, 20000,
                                      list(VIEWS), prepare=True, scope=False,
                                      explain=True)
    out = {}
    for q in queries:
        rows = []
        for p in responses[q["qid"]]["passages"]:
            scores = {v["view"]: v.get("score", 0.0)
                      for v in p.get("breakdown", {}).get("view_scores", [])}
            rows.append([p["range"]["start_char"], p["range"]["end_char"]] +
                        [scores.get("SCORING_VIEW_" + v.upper(), 0.0)
                         for v in VIEWS])
        rows.sort()
        out[q["query"]] = rows
    return out


def config_passage_tokens(config):
    import re
    m = re.search(r"^default_passage_tokens:\s*(\d+)", open(config).read(),
                  re.M)
    return int(m.group(1)) if m else 128


def judged_sets(args, passage_tokens=None):
    """Real corpus questions and dev-set questions with their judged
    passages of `passage_tokens` (default: --passage-tokens, else the
    config's): [{qid, doc, query, gold, source, passages}]."""
    size = (passage_tokens or args.passage_tokens or
            config_passage_tokens(args.config))
    cache = os.path.join(os.path.dirname(os.path.abspath(args.corpus)),
                         f"fusion-judged-p{size}")
    os.makedirs(cache, exist_ok=True)
    with open(args.corpus, encoding="utf-8") as f:
        corpus = json.load(f)
    real = {"name": "real", "documents": [], "queries": []}
    used = set()
    for i, e in enumerate(corpus["examples"]):
        if e.get("kind") != "real":
            continue
        real["queries"].append(dict(e, qid=f"t{i}"))
        used.add(e["doc"])
    real["documents"] = [d for d in corpus["documents"] if d["id"] in used]
    sets = [real] + faq_sets.all_sets()
    server = None
    out = {}
    try:
        for ds in sets:
            items = []
            for doc in ds["documents"]:
                queries = [q for q in ds["queries"] if q["doc"] == doc["id"]]
                if not queries:
                    continue
                path = os.path.join(cache, f"{ds['name']}--{doc['id']}.json")
                if os.path.exists(path):
                    judged = json.load(open(path))
                else:
                    if server is None:
                        server = service.Server(
                            args.build_dir,
                            tuning_config(args.config, size).write())
                    judged = judge(server, doc, queries)
                    json.dump(judged, open(path, "w"))
                    print(f"{ds['name']} {doc['id']}: {len(queries)} "
                          "questions judged", flush=True)
                for q in queries:
                    items.append({"qid": q["qid"], "doc": doc["id"],
                                  "query": q["query"], "gold": q["gold"],
                                  "source": q.get("source", ds["name"]),
                                  "doc_chars": len(doc["text"]),
                                  "passages": np.array(judged[q["query"]],
                                                       dtype=float)})
            out[ds["name"]] = items
    finally:
        if server is not None:
            server.stop()
    return out


# ---- 2. Fusion methods -----------------------------------------------------

def normalised(col, how):
    if how == "minmax":
        lo, hi = col.min(), col.max()
        return (col - lo) / (hi - lo) if hi > lo else np.zeros_like(col)
    sd = col.std()
    return (col - col.mean()) / sd if sd > 0 else np.zeros_like(col)


def reciprocal_ranks(col):
    """1 / (k + rank) by this column (rank 1 best); 0 where the score is 0
    (the view found no evidence)."""
    order = np.argsort(-col, kind="stable")
    rr = np.zeros_like(col)
    rr[order] = 1.0 / (RRF_K + np.arange(1, len(col) + 1))
    rr[col <= 0] = 0.0
    return rr


def features(item):
    """Per passage: for each view its raw score, its min-max and z-score
    normalised scores over the question's passages, and its reciprocal rank
    (x 60: 1/(1 + rank/60)). The service computes the same (model/views/
    calibrated_fusion.cc)."""
    p = item["passages"]
    cols = []
    for k in range(len(VIEWS)):
        col = p[:, 2 + k]
        cols += [col, normalised(col, "minmax"), normalised(col, "z"),
                 RRF_K * reciprocal_ranks(col)]
    return np.stack(cols, axis=1)


FEATURE_NAMES = [f"{v}_{k}" for v in VIEWS
                 for k in ("raw", "minmax", "z", "rr")]


def labels(item):
    return np.array([metrics.relevant_to(list(map(int, r[:2])), item["gold"])
                     is not None for r in item["passages"]], dtype=float)


class Rrf:
    def __init__(self, weights):
        self.weights = weights

    def name(self):
        return "RRF " + " + ".join(f"{v} {w:g}" for v, w in
                                   zip(VIEWS, self.weights) if w)

    def score(self, item):
        p = item["passages"]
        return sum(w * reciprocal_ranks(p[:, 2 + k])
                   for k, w in enumerate(self.weights) if w)


class Convex:
    """Each view normalised over the passages every weighted view judged
    (item["judged"], passages x views, absent: all); a passage a view left
    unjudged gets that view's lowest normalised score. The service computes
    the same (model/views/calibrated_fusion.cc)."""

    def __init__(self, how, weights):
        self.how, self.weights = how, weights

    def name(self):
        return f"convex {self.how} " + " + ".join(
            f"{v} {w:g}" for v, w in zip(VIEWS, self.weights) if w)

    def score(self, item):
        p = item["passages"]
        judged = item.get("judged")
        if judged is None:
            return sum(w * normalised(p[:, 2 + k], self.how)
                       for k, w in enumerate(self.weights) if w)
        used = [k for k, w in enumerate(self.weights) if w]
        common = judged[:, used].all(axis=1)
        out = np.zeros(len(p))
        for k in used:
            col, seen = p[:, 2 + k], judged[:, k]
            stats = common if common.any() else seen
            if not stats.any():
                continue
            ref = col[stats]
            lo, hi, mean, sd = ref.min(), ref.max(), ref.mean(), ref.std()
            if self.how == "minmax":
                norm = (col - lo) / (hi - lo) if hi > lo else 0 * col
                floor = 0.0
            else:
                norm = (col - mean) / sd if sd > 0 else 0 * col
                floor = (lo - mean) / sd if sd > 0 else 0.0
            out += self.weights[k] * np.where(seen, norm, floor)
        return out

    def complete(self, item):
        judged = item.get("judged")
        return judged is None or judged[:, [k for k, w in enumerate(
            self.weights) if w]].all()


class Logistic:
    """L2-regularised logistic regression (Newton steps) over standardised
    features; the score is the logit, its sigmoid P(relevant)."""

    def __init__(self, l2=1.0):
        self.l2 = l2

    def name(self):
        return "logistic (per-view features)"

    def fit(self, items):
        x = np.concatenate([features(i) for i in items])
        y = np.concatenate([labels(i) for i in items])
        self.mean, self.std = x.mean(0), x.std(0) + 1e-9
        z = np.hstack([(x - self.mean) / self.std, np.ones((len(x), 1))])
        w = np.zeros(z.shape[1])
        reg = np.full(z.shape[1], self.l2)
        reg[-1] = 0.0
        for _ in range(30):
            prob = 1 / (1 + np.exp(-(z @ w)))
            grad = z.T @ (prob - y) + reg * w
            hess = (z * (prob * (1 - prob))[:, None]).T @ z + np.diag(reg)
            step = np.linalg.solve(hess, grad)
            w -= step
            if np.abs(step).max() < 1e-6:
                break
        self.w = w
        return self

    def score(self, item):
        z = (features(item) - self.mean) / self.std
        return z @ self.w[:-1] + self.w[-1]

    def probability(self, item):
        return 1 / (1 + np.exp(-self.score(item)))


def ranked(item, scores):
    """The top 10 ranges by `scores` (ties: earlier in the document) and
    the full order."""
    order = np.lexsort((item["passages"][:, 0], -scores))
    return [[int(item["passages"][i][0]), int(item["passages"][i][1])]
            for i in order[:10]], order


def per_item(method, items):
    out = []
    for item in items:
        if len(item["passages"]) == 0:
            out.append(metrics.score_query([], item["gold"]))
            continue
        top, _ = ranked(item, method.score(item))
        out.append(metrics.score_query(top, item["gold"]))
    return out


def evaluate(method, items):
    return metrics.aggregate(per_item(method, items))


def candidates():
    out = [Rrf(w) for w in ([1, 0, 0], [0, 1, 0], [0, 0, 1])]
    out += [Rrf([1, d, e]) for d in (0.5, 1, 2, 4) for e in (0, 1)]
    grid = [x / 10 for x in range(11)]
    for how in ("minmax", "z"):
        out += [Convex(how, [a, b, round(1 - a - b, 1)]) for a in grid
                for b in grid if a + b <= 1.0 + 1e-9 and (a, b) != (0, 0)]
    return out


# ---- Budgeted requests ------------------------------------------------------

def budget_of(config):
    """(neural_candidates, neural_budget_tokens) of the config."""
    import re
    text = open(config).read()
    cands = re.search(r"^neural_candidates:\s*(\d+)", text, re.M)
    tokens = re.search(r"^neural_budget_tokens:\s*(\d+)", text, re.M)
    return int(cands.group(1)), int(tokens.group(1))


def budgeted(item, candidates, budget_tokens):
    """The item as a first question on its document meets the service: the
    neural (dense) view judges only the passages BM25 ranks highest, at most
    `candidates` of them within `budget_tokens` encoder tokens (estimated at
    4 characters a WordPiece token; a passage that would overrun is
    skipped); the other views judge every passage."""
    p = item["passages"]
    if len(p) == 0:
        return item
    order = np.lexsort((p[:, 0], -p[:, 2]))
    judged = np.ones((len(p), len(VIEWS)), dtype=bool)
    dense = VIEWS.index("dense")
    judged[:, dense] = False
    spent = 0.0
    for i in order[:candidates]:
        cost = (p[i, 1] - p[i, 0]) / 4.0
        if spent > 0 and spent + cost > budget_tokens:
            continue
        spent += cost
        judged[i, dense] = True
    zeros = p.copy()
    zeros[~judged[:, dense], 2 + dense] = 0.0
    return dict(item, passages=zeros, judged=judged)


class ZerosCounted:
    """The rule before: a passage the budget left unjudged counted as a
    dense score of 0 in the normalisation."""

    def __init__(self, method):
        self.method = method

    def name(self):
        return self.method.name() + ", unjudged counted as 0"

    def score(self, item):
        return self.method.score({k: v for k, v in item.items()
                                  if k != "judged"})


def folds(items):
    """Documents to folds, largest first to the fold with fewest questions."""
    sizes = {}
    for i in items:
        sizes[i["doc"]] = sizes.get(i["doc"], 0) + 1
    load = [0] * FOLDS
    fold_of = {}
    for doc in sorted(sizes, key=lambda d: (-sizes[d], d)):
        f = load.index(min(load))
        fold_of[doc] = f
        load[f] += sizes[doc]
    return fold_of, load


def cross_validate(items):
    fold_of, load = folds(items)
    methods = candidates()
    # Fixed methods score every question once; folds average them.
    scored = {m.name(): per_item(m, items) for m in methods}
    print(f"{len(methods)} fixed methods scored", flush=True)
    fold = [fold_of[i["doc"]] for i in items]
    table = {}  # name -> [metrics per fold]
    oof = []  # (probability, label) of held-out top-10 passages
    for f in range(FOLDS):
        test = [k for k in range(len(items)) if fold[k] == f]
        train = [k for k in range(len(items)) if fold[k] != f]
        for m in methods:
            table.setdefault(m.name(), []).append(
                metrics.aggregate([scored[m.name()][k] for k in test]))
        # The weighted fusions' weights chosen on the training folds.
        for family, pick in (("RRF", lambda m: isinstance(m, Rrf)),
                             ("convex minmax", lambda m: isinstance(m, Convex)
                              and m.how == "minmax"),
                             ("convex z", lambda m: isinstance(m, Convex)
                              and m.how == "z")):
            best = max((m for m in methods if pick(m)),
                       key=lambda m: np.mean([scored[m.name()][k]["mrr10"]
                                              for k in train]))
            table.setdefault(f"{family}, weights chosen on the training "
                             "folds", []).append(
                metrics.aggregate([scored[best.name()][k] for k in test]))
        lr = Logistic().fit([items[k] for k in train])
        table.setdefault(lr.name(), []).append(
            evaluate(lr, [items[k] for k in test]))
        for k in test:
            item = items[k]
            if len(item["passages"]) == 0:
                continue
            prob = lr.probability(item)
            _, order = ranked(item, lr.score(item))
            y = labels(item)
            oof += [(float(prob[i]), float(y[i])) for i in order[:10]]
        print(f"fold {f}: {len(test)} questions", flush=True)
    return table, oof, load


def scope_check(args, items, fold_of, model_path, sha256):
    """MRR@10 and F1@1 per fold with the retrieval scope on and off, the
    calibrated fusion serving (the real server, the real questions)."""
    cfg = tuning_config(args.config, every_passage=False)
    cfg.set("views.fusion.model", model_path)
    cfg.set("views.fusion.model_sha256", sha256)
    path = cfg.write()
    server = service.Server(args.build_dir, path)
    out = {True: {}, False: {}}
    try:
        docs = {}
        for i in items:
            docs.setdefault(i["doc"], []).append(i)
        texts = {}
        with open(args.corpus, encoding="utf-8") as f:
            for d in json.load(f)["documents"]:
                if d["id"] in docs:
                    texts[d["id"]] = d["text"]
        for doc, qs in docs.items():
            for scope in (True, False):
                responses = server.retrieve_batch(
                    texts[doc], qs, 10, None, prepare=True, scope=scope)
                for q in qs:
                    top = [[p["range"]["start_char"], p["range"]["end_char"]]
                           for p in responses[q["qid"]]["passages"]]
                    out[scope][q["qid"]] = metrics.score_query(top, q["gold"])
    finally:
        server.stop()
    table = {}
    for scope in (True, False):
        per_fold = [metrics.aggregate([out[scope][i["qid"]] for i in items
                                       if fold_of[i["doc"]] == f])
                    for f in range(FOLDS)]
        table["scope on" if scope else "scope off"] = {
            k: (float(np.mean([m[k] for m in per_fold])),
                float(np.std([m[k] for m in per_fold])))
            for k in ("mrr10", "r1", "f1")}
    return table


def platt(method, items):
    """(slope, intercept) of P(relevant) = sigmoid(slope * score +
    intercept), fitted on each question's top 10 by `method`."""
    xs, ys = [], []
    for item in items:
        if len(item["passages"]) == 0:
            continue
        s = method.score(item)
        _, order = ranked(item, s)
        xs += [s[i] for i in order[:10]]
        ys += list(labels(item)[order[:10]])
    return fit_platt(xs, ys)


def candidate_sets(args, items, per_set=5, seed=17):
    """Rerank-shaped sets: each real question with its answer's text and
    per_set - 1 other answers of the same document (the same subject, as a
    first stage's candidates are), in a seeded shuffled order; returns
    [(item, texts, labels)]."""
    import random
    rng = random.Random(seed)
    texts = {}
    with open(args.corpus, encoding="utf-8") as f:
        for d in json.load(f)["documents"]:
            texts[d["id"]] = d["text"]
    by_doc = {}
    for i in items:
        by_doc.setdefault(i["doc"], []).append(i)
    out = []
    for item in items:
        others = [o for o in by_doc[item["doc"]] if o["gold"] != item["gold"]]
        if len(others) < per_set - 1:
            continue
        chosen = rng.sample(others, per_set - 1)
        cands = [(texts[item["doc"]][item["gold"][0][0]:item["gold"][0][1]], 1.0)]
        cands += [(texts[o["doc"]][o["gold"][0][0]:o["gold"][0][1]], 0.0)
                  for o in chosen]
        rng.shuffle(cands)
        out.append((item, [c[0] for c in cands], [c[1] for c in cands]))
    return out


def score_combinations(args, sets, model):
    """The fused combination c of each candidate of each set, from the real
    server's /v1/rerank answers (the Retrieve calibration inverted)."""
    import urllib.request
    cfg = tuning_config(args.config, every_passage=False)
    tmp = tempfile.mkdtemp(prefix="attnr-cv-")
    path = os.path.join(tmp, "rerank.textproto")
    # The model without a Score calibration: Score answers with the
    # Retrieve calibration, inverted below.
    plain = os.path.join(tmp, "fusion.json")
    with open(plain, "w") as f:
        json.dump({k: v for k, v in model.items() if k != "score_calibration"},
                  f)
    cfg.set("views.fusion.model", plain).write(path)
    port_file = os.path.join(os.path.dirname(path), "http_port")
    server = service.Server(args.build_dir, path,
                            ["--http_listen", "127.0.0.1:0",
                             "--http_port_file", port_file])
    slope = model["calibration"]["slope"]
    intercept = model["calibration"]["intercept"]
    out = []
    try:
        port = int(open(port_file).read())
        for item, texts, ys in sets:
            body = json.dumps({"query": item["query"], "documents": texts})
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/v1/rerank", data=body.encode(),
                headers={"Content-Type": "application/json"})
            answer = json.load(urllib.request.urlopen(req, timeout=120))
            c = [0.0] * len(texts)
            for r in answer["results"]:
                p = min(max(r["relevance_score"], 1e-15), 1 - 1e-15)
                c[r["index"]] = (math.log(p / (1 - p)) - intercept) / slope
            out.append((item, c, ys))
    finally:
        server.stop()
    return out


def fit_platt(xs, ys):
    x, y = np.array(xs, dtype=float), np.array(ys, dtype=float)
    w = np.zeros(2)
    for _ in range(100):
        p = 1 / (1 + np.exp(-(w[0] * x + w[1])))
        g = np.array([((p - y) * x).sum(), (p - y).sum()])
        h = np.array([[(p * (1 - p) * x * x).sum(), (p * (1 - p) * x).sum()],
                      [(p * (1 - p) * x).sum(), (p * (1 - p)).sum()]])
        step = np.linalg.solve(h + 1e-9 * np.eye(2), g)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return float(w[0]), float(w[1])


def score_calibration(args, real, fold_of, model):
    """Platt scaling for Score / rerank requests, fitted on rerank-shaped
    sets; ECE on held-out folds. Returns (slope, intercept, ece, rows)."""
    scored = score_combinations(args, candidate_sets(args, real), model)
    oof = []
    for f in range(FOLDS):
        train = [s for s in scored if fold_of[s[0]["doc"]] != f]
        a, b = fit_platt([c for _, cs, _ in train for c in cs],
                         [y for _, _, ys in train for y in ys])
        for _, cs, ys in (s for s in scored if fold_of[s[0]["doc"]] == f):
            oof += [(float(1 / (1 + np.exp(-(a * c + b)))), y)
                    for c, y in zip(cs, ys)]
    error, rows = ece(oof)
    a, b = fit_platt([c for _, cs, _ in scored for c in cs],
                     [y for _, _, ys in scored for y in ys])
    return a, b, error, rows, len(scored)


def ece(pairs, bins=10):
    """Expected calibration error and the reliability table."""
    rows, total = [], 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [(p, y) for p, y in pairs
                  if lo <= p < hi or (b == bins - 1 and p == 1.0)]
        if not inside:
            continue
        conf = sum(p for p, _ in inside) / len(inside)
        acc = sum(y for _, y in inside) / len(inside)
        total += len(inside) * abs(conf - acc)
        rows.append((lo, hi, len(inside), conf, acc))
    return total / max(1, len(pairs)), rows


def plot(rows, path):
    data = "\n".join(f"{c:.4f} {a:.4f}" for _, _, _, c, a in rows)
    script = f"""set terminal pngcairo size 640,480
set output '{path}'
set title 'Reliability on held-out folds (top 10 of each question)'
set xlabel 'predicted P(relevant)'
set ylabel 'share relevant'
set xrange [0:1]
set yrange [0:1]
set key left top
plot x title 'perfect' with lines dashtype 2, '-' using 1:2 title 'attnr fusion' with linespoints pointtype 7
{data}
e
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default=os.path.expanduser(
        "~/.cache/attnr-train/corpus/corpus.json"))
    parser.add_argument("--config",
                        default=os.path.join(ROOT, "config/server.textproto"))
    parser.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    parser.add_argument("--out", default=os.path.join(ROOT, "bench/results"))
    parser.add_argument("--model", default=os.path.join(
        ROOT, "model/weights/attnr-fusion-1.0.0.json"))
    parser.add_argument("--vectors", default=os.path.join(
        ROOT, "tests/vectors/calibrated_fusion.json"))
    parser.add_argument("--score-calibration", action="store_true",
                        help="also calibrate Score / rerank requests on "
                             "rerank-shaped candidate sets")
    parser.add_argument("--passage-tokens", type=int, default=0,
                        help="judge passages of this size (default: the "
                             "config's); for choosing the passage size, "
                             "with --out and --model elsewhere")
    parser.add_argument("--compare-passage-sizes", default="",
                        help="comma-separated passage sizes (tokens) to "
                             "cross-validate the fitted fusions on, for the "
                             "choice of default_passage_tokens")
    parser.add_argument("--scope-check", action="store_true",
                        help="also serve the fitted fusion and compare the "
                             "retrieval scope on and off, per fold")
    args = parser.parse_args()
    sets = judged_sets(args)
    real = sets.pop("real")
    table, oof, load = cross_validate(real)
    summary = {name: {k: (float(np.mean([m[k] for m in per])),
                          float(np.std([m[k] for m in per])))
                      for k in ("mrr10", "r1", "r5", "f1")}
               for name, per in table.items()}
    # The default: the fitted method with the best mean MRR@10 (a grid
    # point alone is not a method: its weights were not chosen on training
    # folds).
    fitted = [n for n in summary if "chosen on" in n or n.startswith("logistic")]
    chosen = max(fitted, key=lambda n: summary[n]["mrr10"][0])
    family = next(f for f in ("convex z", "convex minmax", "RRF", "logistic")
                  if chosen.startswith(f))
    if not family.startswith("convex"):
        raise SystemExit(f"{chosen} won: the service ships convex fusion only")
    how = family.split()[1]
    grid = [m for m in candidates() if isinstance(m, Convex) and m.how == how]
    final = max(grid, key=lambda m: evaluate(m, real)["mrr10"])
    # Calibration: Platt scaling of the combination, fitted on each
    # question's top 10; measured on held-out folds, then fitted on all.
    oof = []
    fold_of, _ = folds(real)
    for f in range(FOLDS):
        train = [i for i in real if fold_of[i["doc"]] != f]
        test = [i for i in real if fold_of[i["doc"]] == f]
        slope, intercept = platt(final, train)
        for item in test:
            if len(item["passages"]) == 0:
                continue
            s = final.score(item)
            _, order = ranked(item, s)
            y = labels(item)
            oof += [(float(1 / (1 + np.exp(-(slope * s[i] + intercept)))),
                     float(y[i])) for i in order[:10]]
    error, rows = ece(oof)
    plot(rows, os.path.join(args.out, "fusion_reliability.png"))
    slope, intercept = platt(final, real)
    model = {"method": "convex", "normalization": how,
             "views": list(VIEWS), "weights": list(final.weights),
             "calibration": {"slope": slope, "intercept": intercept},
             "chosen": f"{final.name()} ({chosen}, bench/cv_fusion.py)",
             "trained_on": f"{len(real)} real questions over "
                           f"{len({i['doc'] for i in real})} documents"}
    final.calibration = (slope, intercept)
    # Budgeted requests (a document's first question: the dense view judges
    # only BM25's best passages): their own calibration, measured the same
    # way, and the quality of the candidate budget at other sizes.
    n_cand, budget = budget_of(args.config)
    cold = [budgeted(i, n_cand, budget) for i in real]
    oof_b, oof_single = [], []
    for f in range(FOLDS):
        train = [i for i in cold if fold_of[i["doc"]] != f]
        a, b = platt(final, train)
        for item in (i for i in cold if fold_of[i["doc"]] == f):
            if len(item["passages"]) == 0:
                continue
            s = final.score(item)
            _, order = ranked(item, s)
            y = labels(item)
            oof_b += [(float(1 / (1 + np.exp(-(a * s[i] + b)))), float(y[i]))
                      for i in order[:10]]
            oof_single += [(float(1 / (1 + np.exp(-(slope * s[i] + intercept)))),
                            float(y[i])) for i in order[:10]]
    b_error, b_rows = ece(oof_b)
    b_slope, b_intercept = platt(final, cold)
    model["budgeted_calibration"] = {"slope": b_slope, "intercept": b_intercept}
    per_token = budget / n_cand
    frontier = []
    for n in sorted({16, 32, n_cand, 64, 96, 10**6}):
        items = [budgeted(i, n, per_token * n) for i in real]
        for label, method in ((f"{n}", final),) + (
                ((f"{n}, unjudged counted as 0", ZerosCounted(final)),)
                if n == n_cand else ()):
            scored_items = per_item(method, items)
            by_fold = [metrics.aggregate([m for m, i in zip(scored_items, items)
                                          if fold_of[i["doc"]] == f])["mrr10"]
                       for f in range(FOLDS)]
            frontier.append((label if n < 10**6 else "every passage (Prepare)",
                             float(np.mean(by_fold)), float(np.std(by_fold))))
    budgeted_report = {"candidates": n_cand, "budget_tokens": budget,
                       "ece": b_error, "rows": b_rows,
                       "ece_with_complete_calibration": ece(oof_single)[0],
                       "slope": b_slope, "intercept": b_intercept,
                       "frontier": frontier}
    rerank = None
    if args.score_calibration:
        a, b, rerank_ece, rerank_rows, n = score_calibration(args, real, fold_of,
                                                             model)
        model["score_calibration"] = {"slope": a, "intercept": b}
        rerank = {"slope": a, "intercept": b, "ece": rerank_ece,
                  "rows": rerank_rows, "sets": n}
    with open(args.model, "w") as f:
        json.dump(model, f, indent=1)
        f.write("\n")
    # Test vectors: the probabilities this code computes for a few real
    # questions' passages, which the service must reproduce
    # (tests/unit/calibrated_fusion_test.cc).
    small = sorted((i for i in real if 5 <= len(i["passages"]) <= 60),
                   key=lambda i: (i["doc"], i["qid"]))
    picked, seen = [], set()
    for item in small:
        if item["doc"] not in seen:
            picked.append(item)
            seen.add(item["doc"])
        if len(picked) == 4:
            break
    # Two of them as budgeted requests (the dense view judged BM25's best 4).
    picked += [budgeted(i, 4, 10**9) for i in picked[:2]]

    def vector(i):
        a, b = ((slope, intercept) if final.complete(i)
                else (b_slope, b_intercept))
        out = {"query": i["query"],
               "view_scores": i["passages"][:, 2:].tolist(),
               "probabilities": (1 / (1 + np.exp(-(a * final.score(i) +
                                                   b)))).tolist()}
        if "judged" in i:
            out["judged"] = i["judged"].astype(int).tolist()
        return out
    with open(args.vectors, "w") as f:
        json.dump({"model": os.path.basename(args.model),
                   "questions": [vector(i) for i in picked]}, f, indent=1)
        f.write("\n")
    dev = {}
    methods = {"lexical alone": Rrf([1, 0, 0]), "dense alone": Rrf([0, 1, 0]),
               "entity alone": Rrf([0, 0, 1]),
               "RRF dense 0.5 + entity 1 (the old default)": Rrf([1, 0.5, 1]),
               f"{final.name()} (the new default)": final}
    peer = peer_scores()
    for name, items in sets.items():
        dev[name] = {m: evaluate(method, items) for m, method in methods.items()}
        dev[name]["the new default, budgeted (a first question)"] = evaluate(
            final, [budgeted(i, n_cand, budget) for i in items])
        dev[name]["Xapian BM25 (peer)"] = metrics.aggregate(peer[name])
    pooled = [i for items in sets.values() for i in items]
    dev["pooled"] = {m: evaluate(method, pooled)
                     for m, method in methods.items()}
    dev["pooled"]["the new default, budgeted (a first question)"] = evaluate(
        final, [budgeted(i, n_cand, budget) for i in pooled])
    dev["pooled"]["Xapian BM25 (peer)"] = metrics.aggregate(
        [m for per in peer.values() for m in per])
    scope = None
    if args.scope_check:
        import hashlib
        sha = hashlib.sha256(open(args.model, "rb").read()).hexdigest()
        scope = scope_check(args, real, fold_of, os.path.abspath(args.model),
                            sha)
    sizes = None
    if args.compare_passage_sizes:
        sizes = compare_passage_sizes(
            args, [int(x) for x in args.compare_passage_sizes.split(",")])
    json.dump({"cv": summary, "chosen": chosen, "model": model, "scope": scope,
               "passage_sizes": sizes,
               "rerank": rerank, "budgeted": budgeted_report,
               "ece": error,
               "reliability": rows, "dev": dev, "fold_questions": load},
              open(os.path.join(args.out, "fusion_cv.json"), "w"), indent=1)
    write_report(args, real, summary, chosen, final, error, rows, dev, load,
                 scope, rerank, budgeted_report, sizes)


def compare_passage_sizes(args, sizes):
    """Per passage size: the cross-validated MRR@10 and F1@1 (mean, std over
    folds) of each fitted fusion family and of the views alone."""
    out = {}
    for size in sizes:
        real = judged_sets(args, size)["real"]
        table, _, _ = cross_validate(real)
        out[size] = {name: {k: (float(np.mean([m[k] for m in per])),
                                float(np.std([m[k] for m in per])))
                            for k in ("mrr10", "f1")}
                     for name, per in table.items()
                     if "chosen on" in name or name in ("RRF lexical 1",
                                                        "RRF dense 1")}
    return out


def peer_scores():
    """The Xapian peer's per-question metrics on each dev set."""
    from attnr_bench import xapian_peer  # noqa: E402
    out = {}
    for ds in faq_sets.all_sets():
        per = []
        for doc in ds["documents"]:
            queries = [q for q in ds["queries"] if q["doc"] == doc["id"]]
            if not queries:
                continue
            index = xapian_peer.XapianIndex(doc["text"])
            per += [metrics.score_query(index.search(q["query"], 10), q["gold"])
                    for q in queries]
        out[ds["name"]] = per
    return out


def write_report(args, real, summary, chosen, final, error, rows, dev, load,
                 scope=None, rerank=None, budgeted_report=None, sizes=None):
    sources = {}
    for i in real:
        sources[i["source"]] = sources.get(i["source"], 0) + 1
    lines = [
        "# Fusion chosen by cross-validation on real questions", "",
        f"`bench/cv_fusion.py`: {len(real)} real questions over "
        f"{len({i['doc'] for i in real})} documents of the corpus "
        "(`model/train/build_corpus.py`; synthetic queries, the dev sets and "
        "the reserved packages left out), "
        f"{FOLDS} folds by document ({', '.join(map(str, load))} questions). "
        "Every passage judged by each view after Prepare (the repository's "
        "config, scope off). Mean ± std over the folds.", "",
        "| method | MRR@10 | R@1 | R@5 | F1@1 |", "|---|---|---|---|---|"]
    order = sorted(summary, key=lambda n: -summary[n]["mrr10"][0])
    keep = [n for n in order if "chosen on" in n or "alone" in n or
            n.startswith("logistic") or n.startswith("RRF lexical 1 + dense 0.5 + entity 1")
            or n in ("RRF lexical 1", "RRF dense 1", "RRF entity 1")]
    for name in keep + [n for n in order[:8] if n not in keep]:
        s = summary[name]
        lines.append(f"| {name} | " + " | ".join(
            f"{s[k][0]:.3f} ± {s[k][1]:.3f}" for k in ("mrr10", "r1", "r5", "f1"))
            + " |")
    lines += ["", f"Best mean MRR@10 of the fitted methods: **{chosen}**; "
              f"fitted on every real question: **{final.name()}** (the "
              "default, model/weights/attnr-fusion-1.0.0.json).", "",
              "Its calibration (Platt scaling of the combination, fitted on "
              "each question's top 10 of the training folds) on the held-out "
              "folds' top 10: expected calibration error "
              f"**{error:.3f}**.",
              "", "| predicted | passages | mean predicted | share relevant |",
              "|---|---|---|---|"]
    for lo, hi, n, c, a in rows:
        lines.append(f"| {lo:.1f}-{hi:.1f} | {n} | {c:.3f} | {a:.3f} |")
    if rerank:
        lines += ["", "Score and /v1/rerank requests (whole candidates, not "
                  "passages of one document) have a calibration of their own, "
                  f"fitted on {rerank['sets']} rerank-shaped sets (each real "
                  "question's answer with 4 other answers of its FAQ, shuffled) "
                  f"scored by the real server: P = sigmoid({rerank['slope']:.3f} "
                  f"x c {rerank['intercept']:+.3f}); on the held-out folds "
                  f"ECE **{rerank['ece']:.3f}**.", "",
                  "| predicted | candidates | mean predicted | share relevant |",
                  "|---|---|---|---|"]
        for lo, hi, n, c, a in rerank["rows"]:
            lines.append(f"| {lo:.1f}-{hi:.1f} | {n} | {c:.3f} | {a:.3f} |")
    if budgeted_report:
        b = budgeted_report
        lines += ["", "## Budgeted requests", "",
                  "A document's first question (no Prepare) spends at most "
                  f"neural_budget_tokens ({b['budget_tokens']}) on the "
                  f"neural_candidates ({b['candidates']}) passages BM25 ranks "
                  "highest; the dense view leaves the rest unjudged. Each view "
                  "is normalised over the passages every view judged, and an "
                  "unjudged passage gets the view's lowest normalised score "
                  "(the same rule as above; simulated on the judged scores, "
                  "encoder tokens estimated at 4 characters each). MRR@10 on "
                  "the real questions by candidate count (budget "
                  f"{b['budget_tokens'] / b['candidates']:g} tokens a candidate; "
                  "mean ± std over the folds):", "",
                  "| candidates | MRR@10 |", "|---|---|"]
        for label, mean, sd in b["frontier"]:
            lines.append(f"| {label} | {mean:.3f} ± {sd:.3f} |")
        lines += ["", "Their combination has a spread of its own (statistics "
                  "over the candidates), so budgeted requests get their own "
                  f"Platt scaling: P = sigmoid({b['slope']:.3f} x c "
                  f"{b['intercept']:+.3f}); on the held-out folds ECE "
                  f"**{b['ece']:.3f}** (the complete requests' calibration "
                  f"would give {b['ece_with_complete_calibration']:.3f}).", "",
                  "| predicted | passages | mean predicted | share relevant |",
                  "|---|---|---|---|"]
        for lo, hi, n, c, a in b["rows"]:
            lines.append(f"| {lo:.1f}-{hi:.1f} | {n} | {c:.3f} | {a:.3f} |")
    lines += ["", "![reliability](fusion_reliability.png)", "",
              "## Dev sets (never used to choose)", "",
              "| set | " + " | ".join(next(iter(dev.values()))) + " |",
              "|---|" + "---|" * len(next(iter(dev.values())))]
    for name, by in dev.items():
        lines.append(f"| {name} ({next(iter(by.values()))['n']} q) | " +
                     " | ".join(f"{m['mrr10']:.3f}" for m in by.values()) + " |")
    lines += ["", "MRR@10 on each dev set; the fused methods rank the same "
              "per-passage scores the server computed (every passage judged, "
              "as after Prepare, except the budgeted column); the peer is "
              "Xapian BM25 over paragraph chunks (bench/attnr_bench/"
              "xapian_peer.py). `make bench` measures the served default "
              "beside the peers end to end (REPORT.md).", "",
              ]
    if scope:
        lines += ["## The retrieval scope", "",
                  "The real server with this fusion, every real question, "
                  "top 10 (mean ± std over the same folds):", "",
                  "| | MRR@10 | R@1 | F1@1 |", "|---|---|---|---|"]
        for name, s in scope.items():
            lines.append(f"| {name} | " + " | ".join(
                f"{s[k][0]:.3f} ± {s[k][1]:.3f}" for k in ("mrr10", "r1", "f1"))
                + " |")
        lines.append("")
    if sizes:
        names = list(next(iter(sizes.values())))
        lines += ["## Passage size", "",
                  "The same cross-validation with passages of each size "
                  "(`--compare-passage-sizes`; the config's "
                  "default_passage_tokens is "
                  f"{config_passage_tokens(args.config)}): MRR@10 / F1@1, "
                  "mean over the folds.", "",
                  "| tokens | " + " | ".join(names) + " |",
                  "|---|" + "---|" * len(names)]
        for size, by in sizes.items():
            lines.append(f"| {size} | " + " | ".join(
                f"{by[n]['mrr10'][0]:.3f} / {by[n]['f1'][0]:.3f}"
                for n in names) + " |")
        lines.append("")
    lines += ["## Sources", "", "| source | questions |", "|---|---|"]
    for s, n in sorted(sources.items(), key=lambda x: -x[1]):
        lines.append(f"| {s} | {n} |")
    with open(os.path.join(args.out, "FUSION.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
