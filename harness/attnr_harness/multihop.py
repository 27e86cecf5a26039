"""A multi-hop set: invented fact chains planted far apart in real prose.

The query names only the first link of a chain; the answer sentence shares
only an entity with the sentence the query resembles (A worked with B ...
B was born in C: "where was the person who worked with A born?"). Gold:
every sentence of the chain. Entities are invented (seeded syllable names)
so the prose can neither help nor contradict them.
"""
import os
import random
import re

from . import sources
from .text_builder import TextBuilder

_SYLLABLES = ["var", "tol", "mund", "ke", "ris", "bal", "orn", "the", "lin",
              "dra", "mos", "vel", "quen", "sa", "dor", "ith", "gar", "lo",
              "ne", "ska", "bre", "vik", "an", "tur"]


def _name(rng, parts=2):
    return " ".join(
        "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3)))
        .capitalize() for _ in range(parts))


def _chain(rng):
    """Returns (query, [fact sentences in reading order])."""
    a, b = _name(rng), _name(rng)
    place = _name(rng, 1) + " " + rng.choice(["Harbour", "Falls", "Ridge",
                                              "Crossing", "Vale"])
    project = _name(rng, 1)
    org = _name(rng, 1) + " " + rng.choice(["Labs", "Works", "Foundry"])
    kind = rng.randrange(3)
    if kind == 0:
        return (f"Where was the person who worked with {a} on the {project} "
                f"project born?",
                [f"{a} worked closely with {b} on the {project} project.",
                 f"{b} was born in {place}."])
    if kind == 1:
        item = rng.choice(["ledger", "prototype", "archive", "key"])
        return (f"Where is the {item} that {a} handed over kept now?",
                [f"{a} handed the {project} {item} over to {b}.",
                 f"{b} keeps everything entrusted to them in {place}."])
    return (f"In which town is the company founded by the student of {a} "
            f"based?",
            [f"{a} taught {b} for many years.",
             f"{b} later founded {org}.",
             f"{org} is based in {place}."])


def multihop(documents=3, chains_per_document=10, words_per_document=8000,
             seed=99, prose=None, name="multihop"):
    """The dev set plants its chains in Git's user manual; `prose` (a text)
    and another `seed` give a held-out set over other prose."""
    if prose is None:
        root = sources.unpacked("git-doc")
        with open(os.path.join(root, "usr/share/doc/git-doc/user-manual.txt"),
                  encoding="utf-8") as f:
            prose = f.read()
    paragraphs = [p for p in re.split(r"\n\s*\n", prose) if p.strip()]
    rng = random.Random(seed)
    out_docs, out_queries = [], []
    cursor = 0
    for d in range(documents):
        # The next run of paragraphs with about words_per_document words.
        chunk, words = [], 0
        while words < words_per_document and cursor < len(paragraphs):
            chunk.append(paragraphs[cursor])
            words += len(paragraphs[cursor].split())
            cursor += 1
        chains = [_chain(rng) for _ in range(chains_per_document)]
        # Each fact goes after a paragraph; the links of one chain are
        # spread over the document, in order, at least a few paragraphs apart.
        slots = {}
        n = len(chunk)
        for c, (_, facts) in enumerate(chains):
            span = n // len(facts)
            for k in range(len(facts)):
                lo = k * span
                pos = rng.randrange(lo, max(lo + 1, lo + span - 2))
                slots.setdefault(pos, []).append((c, k))
        doc = TextBuilder()
        gold = {c: [None] * len(f) for c, (_, f) in enumerate(chains)}
        for i, para in enumerate(chunk):
            doc.add(para + "\n\n")
            for c, k in slots.get(i, []):
                gold[c][k] = doc.add(chains[c][1][k])
                doc.add("\n\n")
        doc_id = f"{name}-{d}"
        out_docs.append({"id": doc_id, "text": doc.text()})
        for c, (query, _) in enumerate(chains):
            out_queries.append({"qid": f"{doc_id}-{c}", "doc": doc_id,
                                "query": query, "gold": gold[c]})
    return {"name": name, "documents": out_docs, "queries": out_queries}
