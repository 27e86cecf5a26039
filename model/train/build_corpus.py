#!/usr/bin/python3
"""Builds the training corpus: long documents with questions and gold ranges.

    model/train/build_corpus.py --out DIR

Every training and tuning source, with its question count (Debian bookworm
packages only; counts from the last build, model/train/sources.json is
written beside the corpus on each run):

Real questions (1,728 over 30 documents): FAQs whose question headings are
removed from the document, each question the query and its answer the gold
range, as the dev sets are made. These alone choose defaults
(bench/cv_fusion.py).
  | source | package | documents | questions |
  |---|---|---|---|
  | perlfaq1-9 | perl-doc | 9 | 303 |
  | GNU Emacs FAQ | emacs-common | 1 | 126 |
  | fetchmail FAQ | fetchmail | 1 | 118 |
  | zlib FAQ | zlib1g-dev | 1 | 44 |
  | CVS FAQ | cvs | 1 | 272 |
  | lsof FAQ | lsof | 1 | 241 |
  | MH FAQ | nmh | 1 | 91 |
  | cryptsetup FAQ | cryptsetup | 1 | 84 |
  | R FAQ | r-doc-info | 1 | 80 |
  | sendmail FAQ | sendmail-doc | 1 | 58 |
  | slrn FAQ | slrn | 1 | 53 |
  | ProFTPD FAQ | proftpd-doc | 1 | 47 |
  | FFmpeg FAQ | ffmpeg-doc | 1 | 38 |
  | nano FAQ | nano | 1 | 31 |
  | mdadm FAQ | mdadm | 1 | 30 |
  | rdiff-backup FAQ | rdiff-backup | 1 | 29 |
  | procmail FAQ | procmail | 1 | 18 |
  | XZ Utils FAQ | xz-utils | 1 | 17 |
  | pppd FAQ | ppp | 1 | 16 |
  | vsftpd FAQ | vsftpd | 1 | 14 |
  | gettext FAQ | gettext-doc | 1 | 10 |
  | screen FAQ | screen | 1 | 8 |
  (perlfaq, Emacs, fetchmail and zlib here; the others in real_faqs.py.)

Synthetic queries (6,133 over 197 documents), labelled "synthetic" and
never used to choose a default; the LLM read-out trains on them with the
real ones:
  - FOLDOC (dict-foldoc): "What is X?" over entries concatenated into long
    documents, excluding every entry of the bench's FOLDOC dev documents:
    40 documents, 3,788 questions.
  - Manual pages (manpages, manpages-dev, coreutils; rendered by groff): the
    NAME line's description ("copy files and directories") is the query and
    the start of DESCRIPTION the gold; pages are packed into long documents
    with their NAME lines removed: 157 documents, 2,345 questions.

Sources are appended in this order (perlfaq, FOLDOC, Emacs, fetchmail,
zlib, man pages, then real_faqs.SOURCES), so index-based held-out splits
keep their earlier members as the corpus grows. Never used: python3.11-doc,
zsh-doc (independent evaluation), the dev sets' documents (debian-faq,
git's gitfaq, SQLite's faq.html, the FOLDOC dev documents) and their
questions. Output: corpus.json (every example has "source" and "kind"),
corpus-base.json (its perlfaq and FOLDOC part) and sources.json.
"""
import argparse
import glob
import gzip
import html
import json
import os
import random
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "harness"))
from attnr_harness import faq_sets, sources  # noqa: E402
from attnr_harness.text_builder import TextBuilder  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import real_faqs  # noqa: E402


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


def faq_document(doc_id, title, entries):
    """One long document of FAQ answers from (heading, answer) pairs; each
    heading of two or more words (a question or not) queries its answer."""
    doc, examples = TextBuilder(), []
    doc.add(title + "\n\n")
    for question, body in entries:
        if not body:
            continue
        rng = doc.add(body)
        doc.add("\n\n")
        if len(question.split()) >= 2:
            examples.append({"doc": doc_id, "query": question, "gold": [rng]})
    return [{"id": doc_id, "text": doc.text()}], examples


def emacs_faq():
    """GNU Emacs FAQ (info): "N.M Question" headings over their answers."""
    root = sources.unpacked("emacs-common")
    with gzip.open(os.path.join(root, "usr/share/info/emacs/efaq.info.gz"),
                   "rt", encoding="utf-8") as f:
        info = f.read()

    def entries():
        for node in info.split("\x1f")[1:]:
            m = re.search(r"^\d+(?:\.\d+)+ (.+)\n[=*-]+\n", node, re.M)
            if not m:
                continue
            body = node[m.end():].strip()
            if len(body.split()) >= 8:
                yield m.group(1).strip(), body
    return faq_document("emacs-faq", "GNU Emacs FAQ", entries())


def fetchmail_faq():
    """fetchmail FAQ (HTML): <h2> headings "G1. Question" over answers."""
    root = sources.unpacked("fetchmail")
    with open(os.path.join(root, "usr/share/doc/fetchmail/fetchmail-FAQ.html"),
              encoding="utf-8", errors="replace") as f:
        page = f.read()
    parts = re.split(r'<h2><a [^>]*name="[A-Z]+\d+"[^>]*>(.*?)</a></h2>',
                     page, flags=re.S)

    def entries():
        for i in range(1, len(parts) - 1, 2):
            question = re.sub(r"\s+", " ", html.unescape(
                re.sub(r"<[^>]+>", "", parts[i]))).strip()
            yield (re.sub(r"^[A-Z]+\d+\.\s*", "", question),
                   faq_sets.html_to_text(parts[i + 1].split("<hr")[0]))
    return faq_document("fetchmail-faq",
                        "Frequently Asked Questions About Fetchmail", entries())


def zlib_faq():
    """zlib FAQ (text): " N. Question" lines over indented answers."""
    root = sources.unpacked("zlib1g-dev")
    with gzip.open(os.path.join(root, "usr/share/doc/zlib1g-dev/FAQ.gz"),
                   "rt", encoding="utf-8", errors="replace") as f:
        text = f.read()
    parts = re.split(r"^ ?\d+\. (.+(?:\n {4}\S.*)*?)\n\n", text, flags=re.M)
    entries = ((re.sub(r"\s+", " ", parts[i]).strip(),
                re.sub(r"\n {4}", "\n", parts[i + 1]).strip())
               for i in range(1, len(parts) - 1, 2))
    return faq_document("zlib-faq", "Frequently Asked Questions about zlib",
                        entries)


def render_man(path):
    """Plain text of a manual page, or None for a redirect or a failure."""
    with gzip.open(path, "rb") as f:
        source = f.read()
    if source.lstrip().startswith(b".so "):
        return None  # An alias of another page.
    run = subprocess.run(["groff", "-man", "-Tutf8", "-P-cbou", "-rHY=0",
                          "-rLL=120n"], input=source, capture_output=True)
    if run.returncode != 0:
        return None
    lines = run.stdout.decode("utf-8", errors="replace").split("\n")
    # Drop the running header and footer; undo the section indentation.
    body = [l[7:] if l.startswith("       ") else l for l in lines[1:-2]]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(body)).strip()


def man_pages(pages_per_document=15, seed=11):
    pages = []
    for package in ("manpages", "manpages-dev", "coreutils"):
        root = sources.unpacked(package)
        pages += sorted(glob.glob(os.path.join(root, "usr/share/man/man[1-8]/*.gz")))
    entries = []
    for path in pages:
        text = render_man(path)
        if not text:
            continue
        m = re.search(r"^NAME\n(.+?)\n\n", text, re.M | re.S)
        d = re.search(r"^DESCRIPTION\n", text, re.M)
        if not m or not d or " - " not in m.group(1):
            continue
        title, summary = m.group(1).split(" - ", 1)
        summary = re.sub(r"\s+", " ", summary).strip()
        if len(summary.split()) < 3:
            continue
        # Gold: DESCRIPTION's first paragraphs, at least ~25 words.
        paragraphs = text[d.end():].split("\n\n")
        gold, words = [], 0
        for para in paragraphs[:3]:
            if re.match(r"^[A-Z][A-Z ]+$", para.split("\n")[0]):
                break  # The next section.
            gold.append(para)
            words += len(para.split())
            if words >= 25:
                break
        if words < 8:
            continue
        head = title.strip() + "\n\n" + text[m.end():d.end()]
        entries.append((summary, head, "\n\n".join(gold), text[d.end():]))
    rng = random.Random(seed)
    rng.shuffle(entries)
    docs, examples = [], []
    for i in range(0, len(entries), pages_per_document):
        doc_id = f"man-{i // pages_per_document:03d}"
        doc = TextBuilder()
        for summary, head, gold, rest in entries[i:i + pages_per_document]:
            doc.add(head)
            span = doc.add(gold)
            doc.add(rest[len(gold):] + "\n\n")
            examples.append({"doc": doc_id, "query": summary, "gold": [span]})
        docs.append({"id": doc_id, "text": doc.text()})
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


# Queries made from the documents' own structure, not asked by anyone: kept
# apart from the real questions and never used to choose a default.
SYNTHETIC = ("foldoc", "man")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    dev = faq_sets.foldoc()
    dev_texts = [d["text"] for d in dev["documents"]]
    dev_questions = set()
    for ds in faq_sets.all_sets():
        dev_questions |= {q["query"].lower() for q in ds["queries"]}
    # Later sources are appended, so the held-out splits (every 20th example
    # from a residue) keep their earlier members as the corpus grows.
    corpus = {"documents": [], "examples": []}
    base_sources = ("perlfaq", "foldoc")
    counts = []
    for name, make in (("perlfaq", perlfaq),
                       ("foldoc", lambda: foldoc(dev_texts)),
                       ("emacs-faq", emacs_faq),
                       ("fetchmail-faq", fetchmail_faq),
                       ("zlib-faq", zlib_faq),
                       ("man", man_pages)) + tuple(
                           (n, f) for n, _, f in real_faqs.SOURCES):
        docs, examples = make()
        kept = [e for e in examples if e["query"].lower() not in dev_questions]
        kind = "synthetic" if name in SYNTHETIC else "real"
        for e in kept:
            e["source"], e["kind"] = name, kind
        counts.append((name, kind, len(docs), len(kept)))
        corpus["documents"] += docs
        corpus["examples"] += kept
        print(f"{name}: {len(docs)} documents, {len(kept)} examples "
              f"({len(examples) - len(kept)} dropped as dev questions)")
        if name == base_sources[-1]:
            with open(os.path.join(args.out, "corpus-base.json"), "w",
                      encoding="utf-8") as f:
                json.dump(corpus, f, ensure_ascii=False)
    with open(os.path.join(args.out, "corpus.json"), "w", encoding="utf-8") as f:
        json.dump(corpus, f, ensure_ascii=False)
    for kind in ("real", "synthetic"):
        rows = [c for c in counts if c[1] == kind]
        print(f"{kind}: {sum(c[3] for c in rows)} questions over "
              f"{sum(c[2] for c in rows)} documents")
    with open(os.path.join(args.out, "sources.json"), "w") as f:
        json.dump([{"source": n, "kind": k, "documents": d, "questions": q}
                   for n, k, d, q in counts], f, indent=1)


if __name__ == "__main__":
    main()
