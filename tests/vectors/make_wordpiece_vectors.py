#!/usr/bin/env python3
"""Makes tests/vectors/wordpiece_all_minilm_l6_v2.json: what the model's own
tokenizer (Hugging Face `tokenizers`, the model's tokenizer.json) gives for
varied texts — ids, pieces and code-point offsets, without special tokens and
without truncation. Development time only:

  python3 -m venv /tmp/refenv && /tmp/refenv/bin/pip install tokenizers==0.23.3
  /tmp/refenv/bin/python tests/vectors/make_wordpiece_vectors.py \
      ~/.cache/attnr/models/all-minilm-l6-v2
"""
import json
import os
import sys

import tokenizers

TEXTS = [
    "How often must the espresso grinder be descaled?",
    "The committee reviewed the figures; the garden was green.",
    "HELLO World, hello WORLD!",
    "Don't stop: it's 3.14, not 10,000 (or 1e-9).",
    "café naïve résumé Ångström façade coöperate",
    "Straße Größe ÄÖÜ äöü",
    "İstanbul ıi Iİ",
    "Ελληνικά γράμματα και τόνοι",
    "Русский текст с ёлкой",
    "中文分词测试，标点符号。",
    "日本語のテキストとカタカナ",
    "한국어 텍스트 처리",
    "emoji 🌷 and 👍🏽 and ☕ tea",
    "combining e\u0301 and a\u0308 marks",
    "tabs\tand\nnewlines\r\nand  spaces",
    "zero\u200bwidth and soft\u00adhyphen and no\u00a0break",
    "\ufeffbyte order mark at the start",
    "control \u0007 bell \u0000 nul \ufffd replacement",
    "https://example.com/path/to/page?query=1&b=two#frag",
    "mail user.name+tag@example.org now",
    "def snake_case_name(arg): return CamelCaseName(arg)",
    "git config --global user.name; ls -la /usr/lib/x86_64-linux-gnu/",
    "std::vector<std::pair<int, float>> v{};",
    "numbers 1,234,567.89 and 0x1F and 1e10 and 3½",
    "a" * 99,
    "b" * 100,
    "c" * 101,
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "mixedScriptsпривет中文abc",
    "مرحبا بالعالم",
    "שלום עולם",
    "ภาษาไทยไม่มีช่องว่าง",
    "∑ x² ≤ ∞ ± √2 ≈ π",
    "$100 €50 £20 ¥1000 ₹500",
    "“quoted” ‘single’ «guillemets» — em–dash … ellipsis",
    "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３",
    "ligature ﬁnance ﬂow",
    "Roman Ⅻ and superscript ² and subscript ₂",
    "",
    "   ",
    "!!!???...",
    "[CLS] [SEP] [UNK] [MASK] [PAD]",
    "e.g. i.e. etc. U.S.A. Mr. Smith",
    "C++ C# F# .NET node.js Vue.js",
    "user@host:~$ sudo apt-get install -y libtorch-dev",
    "The year 1999 was followed by 2000 and 2001.",
    "Ça va? Où est la bibliothèque? Très bien!",
    "Ñandú pingüino cigüeña",
    "ǅ ǈ ǋ titlecase digraphs",
    "Ꭰ Cherokee and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math letters",
    "unbelievably unaffordable reconstructions",
    "JSON {\"key\": [1, 2, {\"nested\": null}]}",
    "<html><body class=\"main\">Hi</body></html>",
    "a.b.c-d_e/f\\g|h",
    "The quick brown fox jumps over the lazy dog. " * 3,
    "version v1.2.3-rc.4+build.5",
    "I ♥ NY ✓ ✗ ★",
    "𠜎𠜱𠝹 rare CJK extension B",
    "Hangul Jamo ᄀᄁ and compatibility ㄱㄲ",
]


def main():
    folder = sys.argv[1]
    tok = tokenizers.Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    cases = []
    for text in TEXTS:
        enc = tok.encode(text, add_special_tokens=False)
        cases.append({"text": text, "ids": enc.ids, "tokens": enc.tokens,
                      "offsets": [list(o) for o in enc.offsets]})
    out = {"tokenizer": "tokenizers " + tokenizers.__version__,
           "model": "all-minilm-l6-v2 (model/weights/pretrained-models.json)",
           "cases": cases}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "wordpiece_all_minilm_l6_v2.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=0)
    print(f"wrote {len(cases)} cases to {path}")


if __name__ == "__main__":
    main()
