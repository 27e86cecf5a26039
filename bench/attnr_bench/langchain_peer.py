"""The second peer: a LangChain-default RAG pipeline.

What a team following LangChain's RAG tutorial would run: LangChain's own
RecursiveCharacterTextSplitter (1,000 characters, 200 overlap; run in the
build/python venv, bench/langchain_split.py), every chunk embedded with
all-MiniLM-L6-v2, the chunks ranked by cosine similarity to the question.
The embeddings are the service's dense view through Score (views [dense],
chunks as character ranges of the document): the same pinned model, whose
outputs match sentence-transformers' on committed vectors (cosine >= 0.9999);
a chunk over 256 WordPiece tokens scores its best 256-token piece where
sentence-transformers would truncate it. Score's cache embeds each chunk
once per document.
"""
import json
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def chunk(text, python):
    """LangChain's chunks of `text` as [start, end) code-point ranges."""
    out = subprocess.run([python, os.path.join(ROOT, "bench/langchain_split.py")],
                         input=text, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


class LangChainPeer:
    def __init__(self, server, python):
        self.server, self.python = server, python

    def search_batch(self, text, queries, k=10):
        """{qid: top-k chunk ranges} for `queries` over one document."""
        ranges = chunk(text, self.python)
        doc = os.path.join(self.server.tmp, "langchain-doc.txt")
        with open(doc, "w", encoding="utf-8") as f:
            f.write(text)
        spans = []
        for s, e in ranges:
            spans += ["--char-range", f"{s}:{e}"]
        out = {}
        # Score takes at most max_score_passages (1,000) passages a call.
        for q in queries:
            scored = []
            for b in range(0, len(spans), 2000):
                r = self.server.cli("score", "--json", "--timeout", "600",
                                    "--views", "dense", "--query", q["query"],
                                    "--context", doc, *spans[b:b + 2000])
                first = b // 2
                scored += [(s.get("score", 0.0), first + s.get("index", 0))
                           for s in json.loads(r.stdout)["scores"]]
            scored.sort(key=lambda x: (-x[0], x[1]))
            out[q["qid"]] = [ranges[i] for _, i in scored[:k]]
        return out
