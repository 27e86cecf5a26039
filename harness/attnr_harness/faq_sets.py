"""FAQ long-document dev sets built from Debian documentation.

For each FAQ the question headings are removed from the text; the question
becomes the query and its answer section (code points) the gold range.
"""
import gzip
import html
import html.parser
import os
import random
import re

from . import sources
from .text_builder import TextBuilder


def _strip_blank_edges(lines):
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def debian_faq():
    root = sources.unpacked("debian-faq")
    path = os.path.join(root, "usr/share/doc/debian/FAQ/debian-faq.en.txt.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")
    # The body starts at "Chapter 1." (the table of contents before it lists
    # every question, so it is dropped). Numbers are followed by U+00A0.
    body = lines[next(i for i, l in enumerate(lines)
                      if re.match(r"^Chapter\s1\.", l)):]
    heading = re.compile(r"^(\d+)\.(\d+)(\.\d+)?\.\s(.+)$")
    chapter = re.compile(r"^Chapter\s\d+\.")
    doc = TextBuilder()
    queries = []
    section = None  # (question, [answer lines]) being collected.

    def flush():
        if section is None:
            return
        question, answer = section
        answer = _strip_blank_edges(answer)
        text = "\n".join(answer) + "\n\n"
        rng = doc.add(text)
        body_len = len("\n".join(answer))
        queries.append({"query": question, "gold": [[rng[0], rng[0] + body_len]]})

    i = 0
    while i < len(body):
        line = body[i]
        m = heading.match(line)
        if m and m.group(4).rstrip().endswith("?"):
            flush()
            # Questions may wrap onto a second line before the blank line.
            question = m.group(4).strip()
            section = (question, [])
        elif m or chapter.match(line):
            flush()
            section = None
            doc.add(line + "\n")
        elif section is not None:
            section[1].append(line)
        else:
            doc.add(line + "\n")
        i += 1
    flush()
    return _finish("debian-faq", doc.text(), queries)


def git_faq():
    root = sources.unpacked("git-doc")
    with open(os.path.join(root, "usr/share/doc/git-doc/gitfaq.txt"),
              encoding="utf-8") as f:
        lines = f.read().split("\n")
    doc = TextBuilder()
    queries = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if re.match(r"^\[\[[\w-]+\]\]$", line) and i + 1 < len(lines) and \
                lines[i + 1].endswith("::"):
            question = lines[i + 1][:-2].strip()
            j = i + 2
            answer = []
            while j < len(lines) and not re.match(r"^\[\[[\w-]+\]\]$", lines[j]) \
                    and not (j + 1 < len(lines) and re.match(r"^-{3,}$", lines[j + 1])):
                answer.append(lines[j])
                j += 1
            answer = _strip_blank_edges(answer)
            text = "\n".join(answer)
            rng = doc.add(text)
            doc.add("\n\n")
            queries.append({"query": question, "gold": [rng]})
            i = j
        else:
            doc.add(line + "\n")
            i += 1
    return _finish("gitfaq", doc.text(), queries)


class _HtmlText(html.parser.HTMLParser):
    """HTML to plain text: blocks become paragraphs, <pre> keeps lines."""

    BLOCKS = {"p", "blockquote", "li", "ul", "ol", "h1", "h2", "h3", "h4",
              "div", "tr", "table", "dd", "dt", "pre"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []
        self.pre = 0

    def handle_starttag(self, tag, attrs):
        if tag == "pre":
            self.pre += 1
        if tag in self.BLOCKS:
            self.out.append("\n\n")
        elif tag == "br":
            self.out.append("\n")

    def handle_endtag(self, tag):
        if tag == "pre":
            self.pre -= 1
        if tag in self.BLOCKS:
            self.out.append("\n\n")

    def handle_data(self, data):
        self.out.append(data if self.pre else re.sub(r"\s+", " ", data))

    def text(self):
        t = "".join(self.out)
        t = re.sub(r"[ \t]+\n", "\n", t)
        t = re.sub(r"\n[ \t]+(?=\S)", "\n", t) if not self.pre else t
        return re.sub(r"\n{3,}", "\n\n", t).strip()


def html_to_text(fragment):
    parser = _HtmlText()
    parser.feed(fragment)
    parser.close()
    return parser.text()


def sqlite_faq():
    root = sources.unpacked("sqlite3-doc")
    with open(os.path.join(root, "usr/share/doc/sqlite3/faq.html"),
              encoding="utf-8") as f:
        page = f.read()
    parts = re.split(r'<a name="q\d+"></a>', page)
    doc = TextBuilder()
    doc.add("SQLite Frequently Asked Questions\n\n")
    queries = []
    for part in parts[1:]:
        m = re.search(r"<b>\(\d+\)\s*(.*?)</b>", part, re.S)
        if not m:
            continue
        question = re.sub(r"\s+", " ", html.unescape(
            re.sub(r"<[^>]+>", "", m.group(1)))).strip()
        answer_html = part[m.end():]
        answer_html = answer_html.split("<div class=\"footer")[0]
        answer = html_to_text(answer_html)
        if not answer:
            continue
        rng = doc.add(answer)
        doc.add("\n\n")
        queries.append({"query": question, "gold": [rng]})
    return _finish("sqlite-faq", doc.text(), queries)


def foldoc_entries():
    """Every FOLDOC entry as (headword, definition), in dictionary order, with
    the cross-reference braces removed. Shared with the trainer's corpus
    builder, so the dev/train exclusion compares identically parsed text."""
    root = sources.unpacked("dict-foldoc")
    with gzip.open(os.path.join(root, "usr/share/dictd/foldoc.dict.dz"),
                   "rt", encoding="utf-8") as f:
        raw = f.read()
    entries = []
    for block in re.split(r"\n(?=\S)", raw):
        head, _, body = block.partition("\n")
        head = head.strip()
        body = "\n".join(l[3:] if l.startswith("   ") else l
                         for l in body.split("\n")).strip()
        if not head or head.startswith("00") or not body:
            continue
        entries.append((head, re.sub(r"\{([^{}]*)\}", r"\1", body)))
    return entries


def entry_documents(entries, documents, per_document, id_prefix):
    """Packs (headword, definition) entries, in order, into `documents` long
    documents of `per_document` entries; returns [(document, [(headword,
    [start, end] of its definition)])]. Stops early when entries run out."""
    out = []
    for d in range(documents):
        chosen = entries[d * per_document:(d + 1) * per_document]
        if not chosen:
            break
        doc = TextBuilder()
        spans = []
        for head, body in chosen:
            spans.append((head, doc.add(body)))
            doc.add("\n\n")
        out.append(({"id": f"{id_prefix}{d}", "text": doc.text()}, spans))
    return out


def foldoc(documents=3, entries_per_document=120, queries_per_document=40,
           seed=1234):
    """'What is X?' over FOLDOC entries concatenated into long documents."""
    # Whole-word headwords of defining entries, not "See X" redirects.
    entries = [(head, body) for head, body in foldoc_entries()
               if 40 <= len(body.split()) <= 300
               and re.match(r"^[A-Za-z][\w .+#-]*$", head)
               and not body.startswith("See ")]
    rng = random.Random(seed)
    rng.shuffle(entries)
    out_docs, out_queries = [], []
    for doc, spans in entry_documents(entries, documents, entries_per_document,
                                      "foldoc-"):
        out_docs.append(doc)
        for head, span in rng.sample(spans, queries_per_document):
            out_queries.append({"qid": f"{doc['id']}-{len(out_queries)}",
                                "doc": doc["id"], "query": f"What is {head}?",
                                "gold": [span]})
    return {"name": "foldoc", "documents": out_docs, "queries": out_queries}


def _finish(name, text, queries):
    for n, q in enumerate(queries):
        q["qid"] = f"{name}-{n}"
        q["doc"] = name
        for s, e in q["gold"]:
            assert 0 <= s < e <= len(text), (name, q)
    return {"name": name, "documents": [{"id": name, "text": text}],
            "queries": queries}


def all_sets():
    return [debian_faq(), git_faq(), sqlite_faq(), foldoc()]
