"""Real-question FAQs from Debian documentation packages (issue 33).

Each source is one long document: the FAQ's answers in order, their
question headings removed, each question the query and its answer the gold
range (as the dev sets are made). Only headings that are questions count
(ending in "?" or opening with an interrogative or an "I ..." statement of
a problem); section titles ("Legalese") are kept out. Tables of contents
that repeat the headings are skipped: of two entries with one heading the
longer answer is kept.

Every function returns (documents, examples) like build_corpus's sources.
"""
import gzip
import html
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "harness"))
from attnr_harness import faq_sets, sources  # noqa: E402
from attnr_harness.text_builder import TextBuilder  # noqa: E402

_ASKING = re.compile(
    r"^(how|what|what's|why|when|where|which|who|whom|whose|can|could|"
    r"does|do|did|is|are|was|were|should|shall|will|would|may|might|must|"
    r"has|have|i|i'm|i've|my|is there|are there)\b", re.I)


def is_question(heading):
    heading = heading.strip()
    return heading.endswith("?") or bool(_ASKING.match(heading))


def _clean(text):
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", text))).strip()


def real_faq(doc_id, title, entries, min_words=8):
    """One long document of the answers to `entries` (question, answer);
    each question-like heading with an answer of min_words queries it."""
    best = {}
    order = []
    for question, body in entries:
        question, body = _clean(question), body.strip()
        if question not in best:
            order.append(question)
            best[question] = body
        elif len(body) > len(best[question]):
            best[question] = body
    doc, examples = TextBuilder(), []
    doc.add(title + "\n\n")
    for question in order:
        body = best[question]
        if len(body.split()) < min_words:
            continue
        rng = doc.add(body)
        doc.add("\n\n")
        if is_question(question) and len(question.split()) >= 2:
            examples.append({"doc": doc_id, "query": question, "gold": [rng]})
    return [{"id": doc_id, "text": doc.text()}], examples


def _read(package, path, gz=False):
    full = os.path.join(sources.unpacked(package), path)
    opener = gzip.open if gz else open
    with opener(full, "rt", encoding="utf-8", errors="replace") as f:
        return f.read()


def _split(text, heading):
    """(heading, body) pairs: `heading` is a multiline regex whose group 1
    is the question; the body runs to the next heading."""
    matches = list(re.finditer(heading, text, re.M))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        yield m.group(1), text[m.end():end]


def _headed(text, heading):
    """(question, dedented answer) pairs under `heading` (see _split)."""
    return [(q, _dedent(b)) for q, b in _split(text, heading)]


def _dedent(body):
    lines = body.split("\n")
    indents = [len(l) - len(l.lstrip()) for l in lines if l.strip()]
    cut = min(indents) if indents else 0
    return re.sub(r"\n{3,}", "\n\n", "\n".join(l[cut:] for l in lines)).strip()


def cvs_faq():
    """CVS FAQ (text, FAQ-O-Matic export): "    N. Question" headings, some
    wrapped onto a second line, answers signed "Last modified: ..."."""
    text = _read("cvs", "usr/share/doc/cvs/FAQ.gz", gz=True)
    entries = []
    for question, body in _split(
            text, r"^ {4}\d+\. (.+(?:\n {4}\S.*)?)\s*\n"):
        body = re.split(r"^\s*Category: ", body, flags=re.M)[0]
        body = re.sub(r"^\s*Last modified: .*$", "", body, flags=re.M)
        entries.append((question, _dedent(body)))
    return real_faq("cvs-faq", "CVS FAQ", entries)


def cryptsetup_faq():
    """cryptsetup FAQ (Markdown): "  * **N.M Question**" items."""
    text = _read("cryptsetup", "usr/share/doc/cryptsetup/FAQ.md.gz", gz=True)
    entries = _headed(text, r"^ {2}\* \*\*\d+\.\d+ (.+?)\*\*\s*$")
    return real_faq("cryptsetup-faq",
                    "Frequently Asked Questions Cryptsetup/LUKS", entries)


def r_faq():
    """R FAQ (info): "N.M Question" headings underlined, node by node."""
    text = _read("r-doc-info", "usr/share/info/R-FAQ.info.gz", gz=True)
    text = re.sub(r"\x1f\nFile: [^\n]*\n", "\n", text)
    entries = _headed(text, r"^\d+\.\d+(?:\.\d+)? (.+)\n[=*-]+\s*$")
    return real_faq("r-faq", "R FAQ: Frequently Asked Questions on R",
                    entries)


def mdadm_faq():
    """mdadm FAQ (Debian, text): "N. Question" headings."""
    text = _read("mdadm", "usr/share/doc/mdadm/FAQ.gz", gz=True)
    entries = _headed(text, r"^\d+[a-z]?\. (.+(?:\n {2,}\S.*)?)$")
    return real_faq("mdadm-faq", "Frequently asked questions -- Debian mdadm",
                    entries)


def _qa(text, doc_id, title):
    """"Q: question / A: answer" blocks."""
    entries = []
    for block in re.split(r"^Q:\s*", text, flags=re.M)[1:]:
        parts = re.split(r"^A:\s*", block, maxsplit=1, flags=re.M)
        if len(parts) == 2:
            entries.append((parts[0], _dedent("    " + parts[1])))
    return real_faq(doc_id, title, entries)


def screen_faq():
    text = _read("screen", "usr/share/doc/screen/FAQ.gz", gz=True)
    return _qa(text, "screen-faq", "screen: frequently asked questions")


def xz_faq():
    text = _read("xz-utils", "usr/share/doc/xz-utils/faq.txt.gz", gz=True)
    return _qa(text, "xz-faq", "XZ Utils FAQ")


def slrn_faq():
    """slrn FAQ (linuxdoc text): "  N.M Question" headings (the table of
    contents repeats them, indented deeper)."""
    text = _read("slrn", "usr/share/doc/slrn/FAQ.gz", gz=True)
    entries = _headed(text, r"^ {2}\d+\.\d+(?:\.\d+)?\.? (.+(?:\n {6,}\S.*)?)$")
    return real_faq("slrn-faq", "The slrn FAQ", entries)


def procmail_faq():
    """procmail FAQ (text): "N. Question" headings, wrapped lines indented."""
    text = _read("procmail", "usr/share/doc/procmail/FAQ")
    entries = _headed(text, r"^\d+\. (.+(?:\n {3}\S.*)*)$")
    return real_faq("procmail-faq", "procmail: Frequently Asked Questions",
                    entries)


def _html_entries(page, heading):
    """(question, answer text) from HTML headings matching `heading`."""
    matches = list(re.finditer(heading, page, re.S))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(page)
        yield m.group(1), faq_sets.html_to_text(page[m.end():end])


def gettext_faq():
    page = _read("gettext-doc", "usr/share/doc/gettext/FAQ.html")
    page = page.split('Answers</h1>', 1)[-1]
    return real_faq("gettext-faq", "GNU gettext FAQ",
                    _html_entries(page, r"<h4>(.*?)</h4>"))


def nano_faq():
    page = _read("nano", "usr/share/doc/nano/faq.html")
    return real_faq("nano-faq", "The GNU nano editor FAQ",
                    _html_entries(page, r"<h3><a name=\"\d+\.\d+\"></a>"
                                        r"\d+\.\d+\. (.*?)</h3>"))


def ffmpeg_faq():
    page = _read("ffmpeg-doc", "usr/share/doc/ffmpeg/manual/faq.html")
    return real_faq("ffmpeg-faq", "FFmpeg FAQ",
                    _html_entries(page, r"<h3 class=\"section\">\d+\.\d+ "
                                        r"(.*?)<span"))


def lsof_faq():
    """lsof FAQ (text): "N.N[.N]<TAB>Question" headings (the table of
    contents repeats them)."""
    text = _read("lsof", "usr/share/doc/lsof/00FAQ.gz", gz=True)
    entries = _headed(text, r"^\d+\.\d+(?:\.\d+)*\t(.+(?:\n\t(?!\t)\S.*\?)?)$")
    return real_faq("lsof-faq", "lsof Frequently Asked Questions", entries)


def sendmail_faq():
    """sendmail FAQ (text): "Q2.1 -- Question" headings, wrapped lines
    indented."""
    text = _read("sendmail-doc", "usr/share/doc/sendmail-doc/faq.txt.gz",
                 gz=True)
    entries = _headed(text, r"^Q\d+\.\d+ -- (.+(?:\n {2,}\S.*)*)$")
    return real_faq("sendmail-faq", "sendmail Frequently Asked Questions",
                    entries)


def nmh_faq():
    """MH FAQ (nmh; news.answers digest): "Subject: NN.NN Question"
    entries with their From/Date lines."""
    text = _read("nmh", "usr/share/doc/nmh/FAQ.gz", gz=True)
    entries = []
    for q, b in _split(text, r"^Subject: !?\d+\.\d+ (.+)$"):
        b = re.sub(r"^(From|Date): .*$", "", b, flags=re.M)
        entries.append((q, _dedent(b)))
    return real_faq("mh-faq", "MH Frequently Asked Questions (FAQ) with "
                    "Answers", entries)


def proftpd_faq():
    """ProFTPD FAQ (DocBook HTML): QANDAENTRY blocks."""
    page = _read("proftpd-doc", "usr/share/doc/proftpd-doc/faq.html")
    entries = []
    for block in page.split('CLASS="QANDAENTRY"')[1:]:
        parts = block.split('CLASS="ANSWER"', 1)
        if len(parts) != 2:
            continue
        # Each part starts inside the tag split on and ends inside the next.
        question = faq_sets.html_to_text(
            parts[0].split(">", 1)[-1].rsplit("<", 1)[0])
        question = re.sub(r"^\s*(Q:|\d+\.)\s*", "", question)
        answer = faq_sets.html_to_text(
            parts[1].split(">", 1)[-1].rsplit("<", 1)[0])
        entries.append((question, re.sub(r"^\s*A:\s*", "", answer)))
    return real_faq("proftpd-faq", "ProFTPD FAQ", entries)


def vsftpd_faq():
    text = _read("vsftpd", "usr/share/doc/vsftpd/FAQ.gz", gz=True)
    return _qa(re.sub(r"^([QA])\) ", r"\1: ", text, flags=re.M),
               "vsftpd-faq", "vsftpd frequently asked questions")


def ppp_faq():
    text = _read("ppp", "usr/share/doc/ppp/FAQ.gz", gz=True)
    return _qa(text, "ppp-faq", "pppd FAQ")


def rdiff_backup_faq():
    text = _read("rdiff-backup", "usr/share/doc/rdiff-backup/FAQ.adoc.gz",
                 gz=True)
    entries = _headed(text, r"^== (.+)$")
    return real_faq("rdiff-backup-faq", "rdiff-backup FAQ", entries)


# (name, Debian package, function): the order is the corpus's (examples are
# appended, so held-out splits keep their members as sources are added).
SOURCES = (
    ("cvs-faq", "cvs", cvs_faq),
    ("cryptsetup-faq", "cryptsetup", cryptsetup_faq),
    ("r-faq", "r-doc-info", r_faq),
    ("mdadm-faq", "mdadm", mdadm_faq),
    ("screen-faq", "screen", screen_faq),
    ("xz-faq", "xz-utils", xz_faq),
    ("slrn-faq", "slrn", slrn_faq),
    ("procmail-faq", "procmail", procmail_faq),
    ("gettext-faq", "gettext-doc", gettext_faq),
    ("nano-faq", "nano", nano_faq),
    ("ffmpeg-faq", "ffmpeg-doc", ffmpeg_faq),
    ("lsof-faq", "lsof", lsof_faq),
    ("sendmail-faq", "sendmail-doc", sendmail_faq),
    ("mh-faq", "nmh", nmh_faq),
    ("proftpd-faq", "proftpd-doc", proftpd_faq),
    ("vsftpd-faq", "vsftpd", vsftpd_faq),
    ("ppp-faq", "ppp", ppp_faq),
    ("rdiff-backup-faq", "rdiff-backup", rdiff_backup_faq),
)
