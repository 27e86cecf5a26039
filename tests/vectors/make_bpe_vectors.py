#!/usr/bin/env python3
"""Makes tests/vectors/bpe_smollm2.json: what llama.cpp (llama-cpp-python,
the GGUF format's own implementation) makes of varied texts with the pinned
SmolLM2 GGUF's tokenizer — token ids and each token's bytes, no BOS, no
special-token parsing. Development time only:

  /usr/bin/python3.11 -m venv --system-site-packages /tmp/refgguf
  CMAKE_ARGS="-DGGML_NATIVE=OFF" /tmp/refgguf/bin/pip install llama-cpp-python==0.3.2
  /tmp/refgguf/bin/python tests/vectors/make_bpe_vectors.py \
      ~/.cache/attnr/models/smollm2-135m-instruct-q4_1/SmolLM2-135M-Instruct.Q4_1.gguf
"""
import json
import os
import sys

import llama_cpp

TEXTS = [
    "Hello world",
    "Hello world 12345, it's  café 日本",
    " leading space\n\n  two\tTabs",
    "How often must the espresso grinder be descaled?",
    "The espresso grinder must be descaled every fourteen days.",
    "I'm sure they'll say we'd've done it; she's here, you're there, we've gone.",
    "DON'T SHOUT'S 'RE",
    "café naïve résumé — Ångström façade",
    "中文分词测试，标点符号。日本語のテキスト",
    "한국어 텍스트와 Ελληνικά και русский текст",
    "def snake_case_name(arg): return CamelCaseName(arg)",
    "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }",
    "https://example.com/path?query=1&b=two#frag",
    "mailto:someone@example.org",
    "a",
    "!!!",
    "?!...,;:",
    "",
    " ",
    "   ",
    "\n",
    "\n\n\n",
    "line one\nline two\r\nline three\r\n\r\n",
    "tabs\t\tand\t spaces  \t mixed",
    "trailing spaces   ",
    "3.14159 and 2,718 and 1e-10 and 0x1F",
    "Version 1.2.3-rc4 released on 2026-11-30 at 16:45.",
    "¼ ½ ¾ ① ② Ⅻ ٣ ४",
    "Emoji: 😀🙃👍🏽 👨‍👩‍👧 ❤️",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "x" * 300,
    "ab" * 150,
    "The committee reviewed the quarterly figures in detail. " * 8,
    "<|im_start|>user\nWhat is this?<|im_end|>",
    "<|endoftext|> is a literal here",
    "Zero\u200bwidth\u200djoiner\ufeffbom",
    "non\u00a0breaking\u2003em\u3000ideographic space",
    "combining e\u0301 and a\u0308 marks",
    "ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ １２３",
    "$100 (USD) — 50% off! #sale @store",
    "C++ / C# / F# / Objective-C",
    "snake_case and kebab-case and PascalCase",
    "SELECT * FROM users WHERE id = 42;",
    "<html><body class=\"main\">Hi</body></html>",
    "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}",
    "'quoted' \"double\" `back` ‘curly’ “curly”",
    "it''s double apostrophe and 's at start",
    "A.B.C. U.S.A. e.g. i.e. etc.",
    "   leading whitespace then text",
    "word\u2028line separator\u2029para separator",
    "Ünïcödé ÄÖÜ äöü ß ẞ",
    "ﬁ ligature and ﬀ",
    "Mixed中English文text",
    "100000000000 digits 0000",
    "hyphen-ated—dash–en dash",
    "The quick brown fox jumps over the lazy dog.",
    "\ttab start",
    "end with newline\n",
    "Ω≈ç√∫˜µ≤≥÷",
    "٠١٢٣٤٥٦٧٨٩ Arabic-Indic digits and مرحبا",
    "question? answer! (parenthetical) [bracket] {brace}",
    "   \n  \n   mixed blank lines   \n",
    "control\x04chars\x06 and\x1d bell\x07 and DEL\x7f",
]


def main():
    model = llama_cpp.Llama(sys.argv[1], vocab_only=True, verbose=False)
    out = {"reference": f"llama-cpp-python {llama_cpp.__version__}",
           "model": os.path.basename(sys.argv[1]), "cases": []}
    for text in TEXTS:
        ids = model.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        out["cases"].append({
            "text": text, "ids": ids,
            "bytes_hex": [model.detokenize([i]).hex() for i in ids]})
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bpe_smollm2.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
    print(len(out["cases"]), "cases")


if __name__ == "__main__":
    main()
