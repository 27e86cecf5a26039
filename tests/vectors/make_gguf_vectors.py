#!/usr/bin/env python3
"""Makes the GGUF reader's test vectors with gguf-py, llama.cpp's own Python
reader/writer (development time only):

  /usr/bin/python3.11 -m venv --system-site-packages /tmp/refgguf
  /tmp/refgguf/bin/pip install "numpy<2" gguf==0.19.0
  /tmp/refgguf/bin/python tests/vectors/make_gguf_vectors.py [SMOLLM2.gguf]

- tests/vectors/gguf_quants.json: for each type the reader decodes, raw
  blocks (hex) and what `gguf.quants.dequantize` makes of them. Legacy
  quants come from `gguf.quants.quantize` of random floats; K-quants (which
  gguf-py cannot quantize) are random bytes with sane fp16 scales.
- tests/vectors/tiny.gguf + tiny_gguf.json: a small file written by
  `gguf.GGUFWriter` with metadata of every value type and tensors of several
  types, and what `gguf.GGUFReader` reads back.
- with the pinned SmolLM2 file: tests/vectors/smollm2_gguf.json, a few
  tensors' shapes, types and dequantised values (first elements and sums).
"""
import json
import os
import sys

import gguf
import numpy as np
from gguf import GGMLQuantizationType as Q
from gguf import quants

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261130)


def fp16_bytes(values):
    return np.asarray(values, dtype=np.float16).tobytes()


def k_quant_blocks(qtype, blocks):
    """Random K-quant super-blocks whose fp16 fields hold finite scales."""
    size = gguf.GGML_QUANT_SIZES[qtype][1]
    raw = bytearray(rng.integers(0, 256, size * blocks, dtype=np.uint8).tobytes())
    for b in range(blocks):
        base = b * size
        if qtype in (Q.Q4_K, Q.Q5_K):  # d, dmin first
            raw[base:base + 4] = fp16_bytes(rng.uniform(0.001, 0.05, 2))
        elif qtype == Q.Q6_K:  # d last
            raw[base + size - 2:base + size] = fp16_bytes([rng.uniform(0.001, 0.05)])
    return bytes(raw)


def quant_vectors():
    out = []
    for name in ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0",
                 "Q4_K", "Q5_K", "Q6_K"]:
        qtype = Q[name]
        elements = 512
        if name in ("Q4_K", "Q5_K", "Q6_K"):
            raw = k_quant_blocks(qtype, elements // 256)
        else:
            x = (rng.standard_normal(elements) * 0.1).astype(np.float32)
            x[3] = 0.0
            if name == "F32":
                raw = x.tobytes()
            elif name == "F16":
                raw = x.astype(np.float16).tobytes()
            else:
                raw = quants.quantize(x.reshape(1, -1), qtype).tobytes()
        ref = quants.dequantize(np.frombuffer(raw, dtype=np.uint8).reshape(1, -1)
                                if name not in ("F32", "F16") else
                                np.frombuffer(raw, dtype=np.float32 if name == "F32"
                                              else np.float16).reshape(1, -1),
                                qtype).reshape(-1)
        out.append({"type": name, "type_id": int(qtype), "elements": elements,
                    "raw_hex": raw.hex(), "values": [float(v) for v in ref]})
    return out


def tiny_file(path):
    w = gguf.GGUFWriter(path, "llama")
    w.add_uint8("test.u8", 200)
    w.add_int8("test.i8", -100)
    w.add_uint16("test.u16", 60000)
    w.add_int16("test.i16", -30000)
    w.add_uint32("test.u32", 4000000000)
    w.add_int32("test.i32", -2000000000)
    w.add_float32("test.f32", 0.125)
    w.add_bool("test.bool", True)
    w.add_string("test.string", "naïve 日本 \u00e9")
    w.add_uint64("test.u64", 2**40 + 3)
    w.add_int64("test.i64", -(2**40))
    w.add_float64("test.f64", -2.5e-3)
    w.add_array("test.strings", ["a", "", "Ġthe", "<|im_end|>"])
    w.add_array("test.ints", [1, -2, 3])
    w.add_array("test.floats", [0.5, -1.25])
    tensors = {}
    a = (np.arange(12, dtype=np.float32) - 5.5).reshape(3, 4)
    w.add_tensor("a.f32", a)
    tensors["a.f32"] = a
    b = (np.arange(64, dtype=np.float32) / 7.0).astype(np.float16).reshape(2, 32)
    w.add_tensor("b.f16", b)
    tensors["b.f16"] = b.astype(np.float32)
    c = (rng.standard_normal((2, 64)) * 0.3).astype(np.float32)
    cq = quants.quantize(c, Q.Q8_0)
    w.add_tensor("c.q8_0", cq, raw_dtype=Q.Q8_0)
    tensors["c.q8_0"] = quants.dequantize(cq, Q.Q8_0)
    d = (rng.standard_normal((1, 32)) * 0.3).astype(np.float32)
    dq = quants.quantize(d, Q.Q4_1)
    w.add_tensor("d.q4_1", dq, raw_dtype=Q.Q4_1)
    tensors["d.q4_1"] = quants.dequantize(dq, Q.Q4_1)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    r = gguf.GGUFReader(path)
    meta = {}
    for k, f in r.fields.items():
        if k.startswith("test."):
            meta[k] = f.contents()
    out = {"version": int(r.fields["GGUF.version"].contents()),
           "architecture": r.fields["general.architecture"].contents(),
           "metadata": meta, "tensors": []}
    for t in r.tensors:
        out["tensors"].append({
            "name": t.name, "dims": [int(x) for x in t.shape],
            "type": t.tensor_type.name, "offset": int(t.data_offset),
            "values": [float(v) for v in np.asarray(tensors[t.name]).reshape(-1)]})
    return out


def smollm2(path):
    r = gguf.GGUFReader(path)
    out = {"file_sha256": None, "tensor_count": len(r.tensors), "tensors": []}
    for t in r.tensors:
        if t.name not in ("token_embd.weight", "blk.0.attn_q.weight",
                          "blk.29.ffn_down.weight", "output_norm.weight",
                          "blk.3.attn_norm.weight"):
            continue
        v = quants.dequantize(t.data, t.tensor_type).astype(np.float64).reshape(-1)
        out["tensors"].append({
            "name": t.name, "dims": [int(x) for x in t.shape],
            "type": t.tensor_type.name, "first": [float(x) for x in v[:16]],
            "sum": float(v.sum()), "abs_sum": float(np.abs(v).sum()),
            "last": float(v[-1])})
    return out


def main():
    with open(os.path.join(HERE, "gguf_quants.json"), "w") as f:
        json.dump({"generator": f"gguf-py {gguf.__version__ if hasattr(gguf, '__version__') else '0.19.0'}",
                   "vectors": quant_vectors()}, f)
    tiny = os.path.join(HERE, "tiny.gguf")
    with open(os.path.join(HERE, "tiny_gguf.json"), "w") as f:
        json.dump(tiny_file(tiny), f, indent=1, ensure_ascii=False)
    if len(sys.argv) > 1:
        with open(os.path.join(HERE, "smollm2_gguf.json"), "w") as f:
            json.dump(smollm2(sys.argv[1]), f, indent=1)


if __name__ == "__main__":
    main()
