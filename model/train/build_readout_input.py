#!/usr/bin/python3
"""Builds the LLM read-out's training and held-out input (attnr-train
--llm_readout_input), never from the dev sets:

    model/train/build_readout_input.py --out ~/.cache/attnr-train/readout/input.jsonl

From the training corpus (~/.cache/attnr-train/corpus/corpus.json), one real
server (the repository's config, BM25 only) ranks each question's document
passages, as the service's candidate stage does. Training questions: a seeded
sample of corpus examples with index % 20 not in {7, 13} (7: the held-out
split every read-out choice is measured on; 13: the fusion split); each gets
the top --k-train passages, plus the first relevant passage of the top 100 if
none of those is (the read-out must see the answer to learn from it).
Held-out questions: every example with index % 20 == 7, the top --k passages
as they come (the view reranks exactly these when serving). A passage is
relevant when half of it lies in a gold range (harness/attnr_harness/metrics.py).
"""
import argparse
import json
import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "harness"))
from attnr_harness import metrics, service  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--corpus", default=os.path.expanduser(
        "~/.cache/attnr-train/corpus/corpus.json"))
    p.add_argument("--out", required=True)
    p.add_argument("--train-count", type=int, default=400)
    p.add_argument("--k-train", type=int, default=8)
    p.add_argument("--k", type=int, default=16)
    p.add_argument("--heldout-residue", type=int, default=7)
    p.add_argument("--seed", type=int, default=20261130)
    p.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    p.add_argument("--config", default=os.path.join(ROOT, "config/server.textproto"))
    args = p.parse_args()

    with open(args.corpus, encoding="utf-8") as f:
        corpus = json.load(f)
    docs = {d["id"]: d for d in corpus["documents"]}
    pool = [i for i in range(len(corpus["examples"])) if i % 20 not in (7, 13)]
    train = set(random.Random(args.seed).sample(pool, args.train_count))
    held = {i for i in range(len(corpus["examples"])) if i % 20 == args.heldout_residue}
    chosen = sorted(train | held)
    by_doc = {}
    for i in chosen:
        e = corpus["examples"][i]
        by_doc.setdefault(e["doc"], []).append(dict(e, qid=f"t{i}", index=i))

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    server = service.Server(args.build_dir, args.config)
    written = skipped = 0
    try:
        with open(args.out, "w", encoding="utf-8") as out:
            for doc_id, queries in sorted(by_doc.items()):
                text = docs[doc_id]["text"]
                responses = server.retrieve_batch(text, queries, 100, ["lexical"])
                for q in queries:
                    ranked = [(p["range"]["start_char"], p["range"]["end_char"])
                              for p in responses[q["qid"]]["passages"]]
                    is_train = q["index"] in train
                    top = ranked[:args.k_train if is_train else args.k]
                    if is_train and not any(metrics.relevant_to(r, q["gold"]) is not None
                                            for r in top):
                        extra = [r for r in ranked[len(top):]
                                 if metrics.relevant_to(r, q["gold"]) is not None]
                        if not extra:
                            skipped += 1
                            continue
                        top = top[:-1] + [extra[0]]
                    out.write(json.dumps({
                        "qid": q["qid"], "index": q["index"], "doc": doc_id,
                        "split": "train" if is_train else "heldout",
                        "query": q["query"], "gold": q["gold"],
                        "passages": [{"start": a, "end": b, "text": text[a:b],
                                      "relevant": metrics.relevant_to((a, b), q["gold"]) is not None}
                                     for a, b in top]}, ensure_ascii=False) + "\n")
                    written += 1
    finally:
        server.stop()
    print(f"{written} questions written ({len(train)} train sampled, {len(held)} held-out); "
          f"{skipped} training questions without a relevant passage in the top 100 skipped")


if __name__ == "__main__":
    main()
