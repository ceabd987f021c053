"""Synthetic GGUF files of every architecture Tandem runs, written with llama.cpp's gguf-py (an
implementation independent of Tandem's GgufWriter): random weights from a fixed seed, a byte-level
SentencePiece vocabulary (<unk>, <s>, </s>, <0x00>..<0xFF>, extended with dummy pieces up to the
vocabulary size).

    python3 tools/synthetic_gguf.py OUT.gguf --dim 256 --hidden 512 --layers 2 --heads 4 --kv-heads 2
        --vocab 259 [--type F32|F16|Q8_0|Q4_0] [--seed 1] [--arch llama|qwen2|qwen3|qwen2moe|qwen3moe]
        [--head-dim N] [--rope-theta T] [--llama3-rope FACTOR] [--experts N --experts-used K
        [--expert-hidden H] [--shared-hidden S]]

What each architecture adds: qwen2 QKV biases; qwen3 per-head QK-norm (and --head-dim not tied to
the width); qwen2moe a mixture with a sigmoid-gated shared expert (and QKV biases); qwen3moe a
mixture with QK-norm; llama with --experts a Mixtral-style mixture; --llama3-rope writes Llama 3.1
frequency scaling as llama.cpp stores it (a rope_freqs.weight tensor). Mistral is the llama
architecture (GQA, its own rope base): llama.cpp converts Mistral 7B to "llama" and applies no
sliding window to it.

Needs gguf-py on PYTHONPATH (`eval "$(tools/llama-cpp --env)"`). The K-quants come from
llama-quantize on the F32 file.
"""
import argparse
import math

import numpy as np
import gguf

QTYPES = {"F32": gguf.GGMLQuantizationType.F32, "F16": gguf.GGMLQuantizationType.F16,
          "Q8_0": gguf.GGMLQuantizationType.Q8_0, "Q4_0": gguf.GGMLQuantizationType.Q4_0}
FILE_TYPES = {"F32": gguf.LlamaFileType.ALL_F32, "F16": gguf.LlamaFileType.MOSTLY_F16,
              "Q8_0": gguf.LlamaFileType.MOSTLY_Q8_0, "Q4_0": gguf.LlamaFileType.MOSTLY_Q4_0}


def llama3_rope_factors(head_dim, theta, factor, low=1.0, high=4.0, original=64):
    """Llama 3.1's per-frequency divisors, as convert_hf_to_gguf.py computes them for rope_freqs.weight."""
    freqs = 1.0 / (theta ** (np.arange(0, head_dim, 2, dtype=np.float32) / head_dim))
    low_wavelen, high_wavelen = original / low, original / high
    out = []
    for f in freqs:
        wavelen = 2 * math.pi / f
        if wavelen < high_wavelen:
            out.append(1.0)
        elif wavelen > low_wavelen:
            out.append(factor)
        else:
            smooth = (original / wavelen - low) / (high - low)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


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
    ap.add_argument("--type", default="F32", choices=list(QTYPES))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--arch", default="llama", choices=["llama", "qwen2", "qwen3", "qwen2moe", "qwen3moe"])
    ap.add_argument("--head-dim", type=int, default=0, help="0: dim/heads")
    ap.add_argument("--rope-theta", type=float, default=10000.0)
    ap.add_argument("--llama3-rope", type=float, default=0.0, help="Llama 3.1 scaling factor (0: none)")
    ap.add_argument("--experts", type=int, default=0)
    ap.add_argument("--experts-used", type=int, default=0)
    ap.add_argument("--expert-hidden", type=int, default=0, help="0: --hidden")
    ap.add_argument("--shared-hidden", type=int, default=0, help="qwen2moe's shared expert (0: --hidden)")
    a = ap.parse_args()

    rng = np.random.default_rng(a.seed)
    head_dim = a.head_dim or a.dim // a.heads
    q_dim, kv = a.heads * head_dim, a.kv_heads * head_dim
    moe = a.arch.endswith("moe") or a.experts > 0
    biases = a.arch in ("qwen2", "qwen2moe")
    qk_norm = a.arch in ("qwen3", "qwen3moe")
    expert_hidden = a.expert_hidden or a.hidden
    shared_hidden = a.shared_hidden or a.hidden

    w = gguf.GGUFWriter(a.out, a.arch)
    w.add_name(f"tandem synthetic {a.arch} {a.dim}x{a.layers} seed {a.seed}")
    w.add_context_length(a.context)
    w.add_embedding_length(a.dim)
    w.add_feed_forward_length(expert_hidden if (moe and a.arch == "llama") else a.hidden)
    w.add_block_count(a.layers)
    w.add_head_count(a.heads)
    w.add_head_count_kv(a.kv_heads)
    w.add_rope_dimension_count(head_dim)
    if a.head_dim:
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_freq_base(a.rope_theta)
    if moe:
        w.add_expert_count(a.experts)
        w.add_expert_used_count(a.experts_used)
        if a.arch != "llama":
            w.add_expert_feed_forward_length(expert_hidden)
        if a.arch == "qwen2moe":
            w.add_expert_shared_feed_forward_length(shared_hidden)

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

    qtype = QTYPES[a.type]
    w.add_file_type(FILE_TYPES[a.type])

    def matrix(name, rows, cols, scale=1.0, experts=0):
        # rows x cols (GGUF dims are cols, rows); unit-variance outputs for unit-variance inputs
        shape = (experts, rows, cols) if experts else (rows, cols)
        m = (rng.standard_normal(shape, dtype=np.float32) * (scale / np.sqrt(cols))).astype(np.float32)
        if qtype == gguf.GGMLQuantizationType.F32:
            w.add_tensor(name, m)
        elif qtype == gguf.GGMLQuantizationType.F16:
            w.add_tensor(name, m.astype(np.float16))
        else:
            w.add_tensor(name, gguf.quants.quantize(m, qtype), raw_dtype=qtype)

    def vector(name, values):
        w.add_tensor(name, values.astype(np.float32))

    def norm(name, n):
        vector(name, 1.0 + 0.1 * rng.standard_normal(n))

    # Embeddings of unit scale per value, and an output head scaled up so that greedy choices are
    # clear-cut rather than near-ties between random logits.
    matrix("token_embd.weight", a.vocab, a.dim, scale=np.sqrt(a.dim))
    for i in range(a.layers):
        p = f"blk.{i}."
        norm(p + "attn_norm.weight", a.dim)
        matrix(p + "attn_q.weight", q_dim, a.dim)
        matrix(p + "attn_k.weight", kv, a.dim)
        matrix(p + "attn_v.weight", kv, a.dim)
        if biases:
            vector(p + "attn_q.bias", 0.5 * rng.standard_normal(q_dim))
            vector(p + "attn_k.bias", 0.5 * rng.standard_normal(kv))
            vector(p + "attn_v.bias", 0.5 * rng.standard_normal(kv))
        if qk_norm:
            norm(p + "attn_q_norm.weight", head_dim)
            norm(p + "attn_k_norm.weight", head_dim)
        matrix(p + "attn_output.weight", a.dim, q_dim)
        norm(p + "ffn_norm.weight", a.dim)
        if moe:
            # router scaled so that the softmax is neither uniform nor one-hot
            matrix(p + "ffn_gate_inp.weight", a.experts, a.dim, scale=2.0)
            matrix(p + "ffn_gate_exps.weight", expert_hidden, a.dim, experts=a.experts)
            matrix(p + "ffn_up_exps.weight", expert_hidden, a.dim, experts=a.experts)
            matrix(p + "ffn_down_exps.weight", a.dim, expert_hidden, experts=a.experts)
            if a.arch == "qwen2moe":
                vector(p + "ffn_gate_inp_shexp.weight", rng.standard_normal(a.dim) / np.sqrt(a.dim))
                matrix(p + "ffn_gate_shexp.weight", shared_hidden, a.dim)
                matrix(p + "ffn_up_shexp.weight", shared_hidden, a.dim)
                matrix(p + "ffn_down_shexp.weight", a.dim, shared_hidden)
        else:
            matrix(p + "ffn_gate.weight", a.hidden, a.dim)
            matrix(p + "ffn_up.weight", a.hidden, a.dim)
            matrix(p + "ffn_down.weight", a.dim, a.hidden)
    norm("output_norm.weight", a.dim)
    matrix("output.weight", a.vocab, a.dim, scale=4.0)
    if a.llama3_rope:
        vector("rope_freqs.weight", llama3_rope_factors(head_dim, a.rope_theta, a.llama3_rope))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
