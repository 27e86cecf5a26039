"""The peer baseline: Xapian BM25 over 40-200-word paragraph chunks.

What a RAG team would otherwise run: chunk the document by paragraphs,
index the chunks with Xapian's default BM25Weight and English stemmer, and
return the best chunks. Chunk ranges are code points into the document.
"""
import re
import time

import xapian

MIN_WORDS, MAX_WORDS = 40, 200


def chunk(text):
    """Paragraph chunks of 40-200 words as [start, end) code-point ranges."""
    paragraphs = []
    for m in re.finditer(r"\S(?:.*?\S)?(?=\n[ \t\r]*\n|\s*$)", text, re.S):
        words = [w.span() for w in re.finditer(r"\S+", m.group(0))]
        if words:
            paragraphs.append([(m.start() + s, m.start() + e) for s, e in words])
    chunks, current = [], []
    for words in paragraphs:
        # A long paragraph is cut into near-equal pieces of <= MAX_WORDS.
        pieces = max(1, -(-len(words) // MAX_WORDS))
        size = -(-len(words) // pieces)
        for p in range(pieces):
            piece = words[p * size:(p + 1) * size]
            if current and len(current) + len(piece) > MAX_WORDS:
                chunks.append(current)
                current = []
            current = current + piece
            if len(current) >= MIN_WORDS:
                chunks.append(current)
                current = []
    if current:
        if chunks and len(chunks[-1]) + len(current) <= MAX_WORDS:
            chunks[-1] = chunks[-1] + current
        else:
            chunks.append(current)
    return [[c[0][0], c[-1][1]] for c in chunks]


class XapianIndex:
    def __init__(self, text):
        start = time.perf_counter()
        self.ranges = chunk(text)
        self.db = xapian.WritableDatabase("", xapian.DB_BACKEND_INMEMORY)
        stemmer = xapian.Stem("english")
        generator = xapian.TermGenerator()
        generator.set_stemmer(stemmer)
        for i, (s, e) in enumerate(self.ranges):
            doc = xapian.Document()
            generator.set_document(doc)
            generator.index_text(text[s:e])
            doc.add_value(0, str(i))
            self.db.add_document(doc)
        self.parser = xapian.QueryParser()
        self.parser.set_stemmer(stemmer)
        self.parser.set_stemming_strategy(xapian.QueryParser.STEM_SOME)
        self.parser.set_database(self.db)
        self.index_seconds = time.perf_counter() - start

    def search(self, query, top_k=10):
        enquire = xapian.Enquire(self.db)
        enquire.set_weighting_scheme(xapian.BM25Weight())
        enquire.set_query(self.parser.parse_query(query))
        return [self.ranges[int(m.document.get_value(0))]
                for m in enquire.get_mset(0, top_k)]
