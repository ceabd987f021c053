"""Synthetic Llama GGUF files written with llama.cpp's gguf-py (an implementation independent of
Tandem's GgufWriter): random weights from a fixed seed, a byte-level SentencePiece vocabulary
(<unk>, <s>, </s>, <0x00>..<0xFF>, extended with dummy pieces up to the vocabulary size).

    python3 tools/synthetic_gguf.py OUT.gguf --dim 256 --hidden 512 --layers 2 --heads 4 --kv-heads 2
        --vocab 259 [--type F32|F16|Q8_0] [--seed 1]

Needs gguf-py on PYTHONPATH (`eval "$(tools/llama-cpp --env)"`). F32, F16 and Q8_0 come from here;
the K-quants and Q4_0 from llama-quantize on the F32/F16 file.
"""
import argparse

import numpy as np
import gguf


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--dim", type=int, required=True)
    ap.add_argument("--hidden", type=int, required=True)
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--heads", type=int, required=True)
    ap.add_argument("--kv-heads", type=int, required=True)
    ap.add_argument("--vocab", type=int, required=True)
    ap.add_argument("--context", type=int, default=512)
    ap.add_argument("--type", default="F32", choices=["F32", "F16", "Q8_0"])
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    rng = np.random.default_rng(a.seed)
    head_dim = a.dim // a.heads
    w = gguf.GGUFWriter(a.out, "llama")
    w.add_name(f"tandem synthetic {a.dim}x{a.layers} seed {a.seed}")
    w.add_context_length(a.context)
    w.add_embedding_length(a.dim)
    w.add_feed_forward_length(a.hidden)
    w.add_block_count(a.layers)
    w.add_head_count(a.heads)
    w.add_head_count_kv(a.kv_heads)
    w.add_rope_dimension_count(head_dim)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)

    tokens = [b"<unk>", b"<s>", b"</s>"] + [f"<0x{i:02X}>".encode() for i in range(256)]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL] + [gguf.TokenType.BYTE] * 256
    while len(tokens) < a.vocab:
        tokens.append(f"tok{len(tokens)}".encode())
        types.append(gguf.TokenType.NORMAL)
    tokens, types = tokens[:a.vocab], types[:a.vocab]
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores([-float(i) for i in range(len(tokens))])
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)

    qtype = {"F32": gguf.GGMLQuantizationType.F32, "F16": gguf.GGMLQuantizationType.F16,
             "Q8_0": gguf.GGMLQuantizationType.Q8_0}[a.type]
    file_type = {"F32": gguf.LlamaFileType.ALL_F32, "F16": gguf.LlamaFileType.MOSTLY_F16,
                 "Q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}[a.type]
    w.add_file_type(file_type)

    def matrix(name, rows, cols, scale=1.0):
        # rows x cols (GGUF dims are cols, rows); unit-variance outputs for unit-variance inputs
        m = (rng.standard_normal((rows, cols), dtype=np.float32) * (scale / np.sqrt(cols))).astype(np.float32)
        if qtype == gguf.GGMLQuantizationType.F32:
            w.add_tensor(name, m)
        elif qtype == gguf.GGMLQuantizationType.F16:
            w.add_tensor(name, m.astype(np.float16))
        else:
            w.add_tensor(name, gguf.quants.quantize(m, qtype), raw_dtype=qtype)

    def norm(name, n):
        w.add_tensor(name, (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32))

    kv = a.kv_heads * head_dim
    # Embeddings of unit scale per value, and an output head scaled up so that greedy choices are
    # clear-cut rather than near-ties between random logits.
    matrix("token_embd.weight", a.vocab, a.dim, scale=np.sqrt(a.dim))
    for i in range(a.layers):
        p = f"blk.{i}."
        norm(p + "attn_norm.weight", a.dim)
        matrix(p + "attn_q.weight", a.dim, a.dim)
        matrix(p + "attn_k.weight", kv, a.dim)
        matrix(p + "attn_v.weight", kv, a.dim)
        matrix(p + "attn_output.weight", a.dim, a.dim)
        norm(p + "ffn_norm.weight", a.dim)
        matrix(p + "ffn_gate.weight", a.hidden, a.dim)
        matrix(p + "ffn_up.weight", a.hidden, a.dim)
        matrix(p + "ffn_down.weight", a.dim, a.hidden)
    norm("output_norm.weight", a.dim)
    matrix("output.weight", a.vocab, a.dim, scale=4.0)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
