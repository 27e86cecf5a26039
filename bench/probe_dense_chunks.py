#!/usr/bin/env python3
"""Exploration, not the service: how far does the pinned dense encoder
(all-MiniLM-L6-v2) get on the dev sets if it ranks the peer's own chunks
(Xapian's 40-200-word paragraph chunks, truncated at 256 WordPieces)? Beside
the peer on the same chunks, and a plain reciprocal-rank fusion (k = 60) of
the two. Reports dev-set numbers only; choose nothing with it (defaults are
chosen on the held-out split). Uses the model's reference stack:

  python3 -m venv --system-site-packages /tmp/refenv2   # Debian python3-torch
  /tmp/refenv2/bin/pip install transformers==4.40.2
  HF_HUB_OFFLINE=1 /tmp/refenv2/bin/python bench/probe_dense_chunks.py
"""
import os
import sys, time
_BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_BENCH, os.path.join(os.path.dirname(_BENCH), "harness")]
import torch, transformers
from attnr_harness import faq_sets, metrics  # noqa: E402
from attnr_bench import xapian_peer  # noqa: E402
torch.set_num_threads(2)
folder = os.path.join(os.environ.get("ATTNR_MODEL_CACHE", os.path.expanduser("~/.cache/attnr/models")), "all-minilm-l6-v2")
tok = transformers.AutoTokenizer.from_pretrained(folder)
model = transformers.AutoModel.from_pretrained(folder).eval()
def embed(texts, bs=32):
    out = []
    with torch.no_grad():
        for i in range(0, len(texts), bs):
            enc = tok(texts[i:i+bs], return_tensors="pt", padding=True, truncation=True, max_length=256)
            h = model(**enc).last_hidden_state
            m = enc["attention_mask"].unsqueeze(-1).float()
            p = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(p, dim=1))
    return torch.cat(out)
rows = {}
for s in faq_sets.all_sets():
    per = {"peer": [], "dense": [], "rrf": []}
    for doc in s["documents"]:
        text = doc["text"]
        idx = xapian_peer.XapianIndex(text)
        t = time.time()
        E = embed([text[a:b] for a, b in idx.ranges])
        qs = [q for q in s["queries"] if q["doc"] == doc["id"]]
        Q = embed([q["query"] for q in qs])
        for qi, q in enumerate(qs):
            peer = idx.search(q["query"], top_k=len(idx.ranges))
            sims = (E @ Q[qi]).tolist()
            order = sorted(range(len(sims)), key=lambda i: -sims[i])
            dense = [idx.ranges[i] for i in order]
            score = {}
            for rank, r in enumerate(peer): score[tuple(r)] = score.get(tuple(r), 0) + 1 / (61 + rank)
            for rank, r in enumerate(dense): score[tuple(r)] = score.get(tuple(r), 0) + 1 / (61 + rank)
            fused = [list(r) for r, _ in sorted(score.items(), key=lambda kv: -kv[1])]
            per["peer"].append(metrics.score_query(peer, q["gold"]))
            per["dense"].append(metrics.score_query(dense, q["gold"]))
            per["rrf"].append(metrics.score_query(fused, q["gold"]))
        print(s["name"], len(idx.ranges), "chunks", f"{time.time()-t:.1f}s", flush=True)
    rows[s["name"]] = per
pooled = {k: [] for k in ["peer", "dense", "rrf"]}
for name, per in rows.items():
    line = [name]
    for k in ["peer", "dense", "rrf"]:
        pooled[k] += per[k]
        a = metrics.aggregate(per[k])
        line.append(f"{k} MRR@10 {a['mrr10']:.3f} F1@1 {a['f1']:.3f}")
    print(" | ".join(line))
print("pooled | " + " | ".join(f"{k} MRR@10 {metrics.aggregate(v)['mrr10']:.3f} F1@1 {metrics.aggregate(v)['f1']:.3f}" for k, v in pooled.items()))
