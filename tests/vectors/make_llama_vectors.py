#!/usr/bin/env python3
"""Makes tests/vectors/llama_smollm2.json: what Hugging Face `transformers`
(LlamaForCausalLM loaded from the pinned GGUF, dequantised by gguf-py to
float32, eager attention) computes for SmolLM2-135M-Instruct, for the
LibTorch decoder (model/llama/) to match. Development time only:

  /usr/bin/python3.11 -m venv --system-site-packages /tmp/refgguf  # Debian python3-torch
  /tmp/refgguf/bin/pip install "numpy<2" gguf==0.19.0 transformers==4.46.3 accelerate==0.34.2
  /tmp/refgguf/bin/python tests/vectors/make_llama_vectors.py \
      ~/.cache/attnr/models/smollm2-135m-instruct-q4_1/SmolLM2-135M-Instruct.Q4_1.gguf

Token ids come from tests/vectors/bpe_smollm2.json's tokenizer (llama.cpp),
so both sides read the same ids. Stored: for a short text, hidden states
after selected layers (first 16 values and the L2 norm of every position;
the whole vector at the last position), and the attention probabilities of
the last position at selected layers, every head; for a paragraph, the
greedy next token at every position.
"""
import json
import os
import sys

import llama_cpp
import torch
import transformers

LAYERS = [1, 8, 15, 22, 29, 30]
SHORT = ("The espresso grinder in the staff kitchen must be descaled every "
         "fourteen days. Visitors may use the library on weekdays; the garden "
         "closes at dusk. How often must the grinder be descaled?")
PARAGRAPH = (
    "SQLite is a C-language library that implements a small, fast, "
    "self-contained, high-reliability, full-featured, SQL database engine. "
    "SQLite is the most used database engine in the world. It is built into "
    "all mobile phones and most computers and comes bundled inside countless "
    "other applications that people use every day. The SQLite file format is "
    "stable, cross-platform, and backwards compatible and the developers "
    "pledge to keep it that way through the year 2050. SQLite database files "
    "are commonly used as containers to transfer rich content between "
    "systems and as a long-term archival format for data. There are over 1 "
    "trillion SQLite databases in active use. SQLite source code is in the "
    "public-domain and is free to everyone to use for any purpose.")


def main():
    path = sys.argv[1]
    vocab = llama_cpp.Llama(path, vocab_only=True, verbose=False)
    short_ids = vocab.tokenize(SHORT.encode(), add_bos=False, special=False)
    para_ids = vocab.tokenize(PARAGRAPH.encode(), add_bos=False, special=False)
    model = transformers.AutoModelForCausalLM.from_pretrained(
        os.path.dirname(path), gguf_file=os.path.basename(path),
        torch_dtype=torch.float32, attn_implementation="eager")
    model.eval()
    # The GGUF has no output.weight: llama.cpp ties the head to the token
    # embeddings; transformers 4.46 would leave it random.
    import gguf
    if not any(t.name == "output.weight" for t in gguf.GGUFReader(path).tensors):
        model.lm_head.weight = model.model.embed_tokens.weight
    out = {"reference": f"transformers {transformers.__version__}, torch {torch.__version__}",
           "note": "hidden_states[30] has the final RMSNorm applied (as transformers returns it)",
           "short_text": SHORT, "short_ids": short_ids, "layers": {},
           "paragraph_text": PARAGRAPH, "paragraph_ids": para_ids}
    with torch.no_grad():
        r = model(torch.tensor([short_ids]), output_hidden_states=True,
                  output_attentions=True)
        for layer in LAYERS:
            h = r.hidden_states[layer][0]
            entry = {"first16": h[:, :16].tolist(), "norm": h.norm(dim=-1).tolist(),
                     "last": h[-1].tolist()}
            if layer <= len(r.attentions):
                entry["last_attention"] = r.attentions[layer - 1][0, :, -1, :].tolist()
            out["layers"][str(layer)] = entry
        logits = model(torch.tensor([para_ids])).logits[0]
        top2 = logits.topk(2, dim=-1)
        out["paragraph_next"] = top2.indices[:, 0].tolist()
        out["paragraph_margin"] = (top2.values[:, 0] - top2.values[:, 1]).tolist()
    dst = os.path.join(os.path.dirname(os.path.abspath(__file__)), "llama_smollm2.json")
    with open(dst, "w") as f:
        json.dump(out, f)
    print(len(short_ids), "short tokens,", len(para_ids), "paragraph tokens")


if __name__ == "__main__":
    main()
