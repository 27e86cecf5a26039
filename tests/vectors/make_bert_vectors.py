#!/usr/bin/env python3
"""Makes tests/vectors/bert_all_minilm_l6_v2.json: the model's sentence
embeddings as its own stack computes them (Hugging Face `transformers`
BertModel on the pinned folder, then what its sentence-transformers modules
prescribe: mean pooling over the attention mask, L2 normalisation), with the
token ids it fed. Development time only:

  python3 -m venv --system-site-packages /tmp/refenv2   # Debian python3-torch
  /tmp/refenv2/bin/pip install transformers==4.40.2
  HF_HUB_OFFLINE=1 /tmp/refenv2/bin/python tests/vectors/make_bert_vectors.py \
      ~/.cache/attnr/models/all-minilm-l6-v2
"""
import json
import os
import sys

import torch
import transformers

TEXTS = [
    "How often must the espresso grinder be descaled?",
    "The espresso grinder must be descaled every fourteen days.",
    "Visitors enjoyed the garden and the old library.",
    "café naïve résumé — Ångström façade",
    "中文分词测试，标点符号。",
    "def snake_case_name(arg): return CamelCaseName(arg)",
    "https://example.com/path?query=1",
    "a",
    "!!!",
    "The committee reviewed the quarterly figures in detail. " * 20,
    "Use git revert to undo a commit that has already been pushed; "
    "git commit --amend fixes a mistake in the last commit.",
    "The quick brown fox jumps over the lazy dog.",
]


def main():
    folder = sys.argv[1]
    tok = transformers.AutoTokenizer.from_pretrained(folder)
    model = transformers.AutoModel.from_pretrained(folder)
    model.eval()
    cases = []
    with torch.no_grad():
        for text in TEXTS:
            enc = tok(text, return_tensors="pt", truncation=False)
            out = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).float()
            pooled = (out * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)[0]
            cases.append({"text": text,
                          "ids": enc["input_ids"][0].tolist(),
                          "embedding": [round(float(x), 7) for x in pooled]})
    out = {"reference": f"transformers {transformers.__version__}, "
                        f"torch {torch.__version__}",
           "model": "all-minilm-l6-v2 (model/weights/pretrained-models.json)",
           "pooling": "mean over the attention mask, then L2 normalisation",
           "cases": cases}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "bert_all_minilm_l6_v2.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)
    print(f"wrote {len(cases)} cases to {path}")


if __name__ == "__main__":
    main()
