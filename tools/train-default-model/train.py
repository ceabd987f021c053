#!/usr/bin/python3
"""Trains Tandem's embedded default model: a small Llama (GQA) on the King James Bible, with a
SentencePiece BPE vocabulary (byte fallback), and writes it as GGUF with the tokenizer inside.

    tools/train-default-model/train.py --out DIR [--steps N] [--time-budget 1500] [--seed 1611]

Needs Debian's python3-torch, python3-sentencepiece and bible-kjv (the reader of bible-kjv-text),
libopenblas0-serial (Debian's torch uses the system BLAS), and llama.cpp's gguf-py (tools/llama-cpp
fetches it into its cache). Why this corpus and these settings: README.md beside this script.

Reproducible: one thread, a fixed seed, a fixed number of steps. Without --steps the script times
the first steps and picks the number that fits --time-budget, and records it in the log, so a
rerun with `--steps N` gives the same weights. Writes to DIR:
    kjv.txt           the corpus, one verse per line (chapters separated by a blank line)
    tokenizer.model   the SentencePiece model
    train-log.json    settings, seed, loss curve, validation loss, samples, timings
    model-f32.gguf    the weights in F32 (for reference tools), and
    model-q8_0.gguf   the same in Q8_0 (what Tandem embeds)
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import sentencepiece as spm
import torch
import torch.nn as nn
import torch.nn.functional as F

GGUF_PY = os.path.expanduser("~/.cache/tandem/llama.cpp/src/gguf-py")


def extract_corpus(path):
    """The KJV through bible-kjv's reader: verses of all 1189 chapters, no verse numbers."""
    raw = subprocess.run(["bible", "-l", "100000", "Gen1:1-Rev22:21"], check=True,
                         capture_output=True, text=True).stdout
    chapters, current = [], None
    for line in raw.splitlines():
        if not line.strip():
            continue
        if not line.startswith(" "):        # "Genesis 1": a chapter heading
            current = []
            chapters.append(current)
            continue
        number, text = line.strip().split(" ", 1)
        assert number.isdigit(), line
        current.append(" ".join(text.split()))
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n\n".join("\n".join(c) for c in chapters) + "\n")
    return chapters


def train_tokenizer(corpus, prefix, vocab, seed):
    # Llama-2's settings: BPE, byte fallback, digits split, no normalization, a dummy prefix space
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=prefix, vocab_size=vocab, model_type="bpe",
        character_coverage=1.0, byte_fallback=True, split_digits=True,
        normalization_rule_name="identity", remove_extra_whitespaces=False, add_dummy_prefix=True,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, num_threads=1,
        max_sentence_length=16384, minloglevel=2)
    return spm.SentencePieceProcessor(model_file=prefix + ".model")


class Block(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = a.heads, a.kv_heads, a.dim // a.heads
        self.attn_norm = nn.Parameter(torch.ones(a.dim))
        self.wq = nn.Linear(a.dim, a.dim, bias=False)
        self.wk = nn.Linear(a.dim, a.kv_heads * self.head_dim, bias=False)
        self.wv = nn.Linear(a.dim, a.kv_heads * self.head_dim, bias=False)
        self.wo = nn.Linear(a.dim, a.dim, bias=False)
        self.ffn_norm = nn.Parameter(torch.ones(a.dim))
        self.w1 = nn.Linear(a.dim, a.hidden, bias=False)   # gate
        self.w2 = nn.Linear(a.hidden, a.dim, bias=False)   # down
        self.w3 = nn.Linear(a.dim, a.hidden, bias=False)   # up

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        h = rms_norm(x, self.attn_norm)
        q = self.wq(h).view(b, t, self.heads, self.head_dim)
        k = self.wk(h).view(b, t, self.kv_heads, self.head_dim)
        v = self.wv(h).view(b, t, self.kv_heads, self.head_dim)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        rep = self.heads // self.kv_heads
        q = q.transpose(1, 2)
        k = k.repeat_interleave(rep, dim=2).transpose(1, 2)
        v = v.repeat_interleave(rep, dim=2).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_dim) + mask[:t, :t]
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, t, -1)
        x = x + self.wo(y)
        h = rms_norm(x, self.ffn_norm)
        return x + self.w2(F.silu(self.w1(h)) * self.w3(h))


def rms_norm(x, weight, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def rope(x, cos, sin):
    # llama.cpp's LLAMA rope: rotates adjacent pairs (x[2i], x[2i+1]), as Meta's original weights do,
    # so the GGUF needs no permutation of wq/wk.
    t = x.shape[1]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    c, s = cos[:t].view(1, t, 1, -1), sin[:t].view(1, t, 1, -1)
    return torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1).flatten(-2)


class Llama(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.a = a
        self.embed = nn.Embedding(a.vocab, a.dim)
        self.blocks = nn.ModuleList(Block(a) for _ in range(a.layers))
        self.norm = nn.Parameter(torch.ones(a.dim))
        self.output = nn.Linear(a.dim, a.vocab, bias=False)
        hd = a.dim // a.heads
        inv = 1.0 / (a.rope_base ** (torch.arange(0, hd, 2).float() / hd))
        ang = torch.outer(torch.arange(a.context).float(), inv)
        self.register_buffer("cos", ang.cos(), persistent=False)
        self.register_buffer("sin", ang.sin(), persistent=False)
        self.register_buffer("mask", torch.full((a.context, a.context), float("-inf")).triu(1), persistent=False)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * a.layers) if name.endswith(("wo.weight", "w2.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, ids):
        x = self.embed(ids)
        for blk in self.blocks:
            x = blk(x, self.cos, self.sin, self.mask)
        return self.output(rms_norm(x, self.norm))


@torch.no_grad()
def sample(model, sp, prompt, steps, temperature, generator):
    ids = [sp.bos_id()] + sp.encode(prompt)
    for _ in range(steps):
        logits = model(torch.tensor([ids[-model.a.context:]]))[0, -1]
        if temperature == 0:
            nxt = int(logits.argmax())
        else:
            nxt = int(torch.multinomial((logits / temperature).softmax(-1), 1, generator=generator))
        if nxt == sp.eos_id():
            break
        ids.append(nxt)
    return sp.decode(ids[1:])


@torch.no_grad()
def evaluate(model, data, a, batches=8):
    g = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(batches):
        x, y = batch(data, a, g)
        losses.append(float(F.cross_entropy(model(x).flatten(0, 1), y.flatten())))
    return sum(losses) / len(losses)


def batch(data, a, generator):
    starts = torch.randint(0, len(data) - a.context - 1, (a.batch,), generator=generator)
    chunk = torch.stack([data[s:s + a.context + 1] for s in starts.tolist()])
    return chunk[:, :-1], chunk[:, 1:]


def write_gguf(model, sp, a, path, qtype_name):
    sys.path.insert(0, GGUF_PY)
    import gguf
    qtype = getattr(gguf.GGMLQuantizationType, qtype_name)
    w = gguf.GGUFWriter(path, "llama")
    w.add_name("tandem-kjv")
    w.add_description(f"Tandem's default model: a {a.dim}x{a.layers} Llama trained on the King James Bible "
                      f"by tools/train-default-model (seed {a.seed}, {a.steps} steps)")
    w.add_license("public-domain text; weights CC0")
    w.add_context_length(a.context)
    w.add_embedding_length(a.dim)
    w.add_feed_forward_length(a.hidden)
    w.add_block_count(a.layers)
    w.add_head_count(a.heads)
    w.add_head_count_kv(a.kv_heads)
    w.add_rope_dimension_count(a.dim // a.heads)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(a.rope_base)
    w.add_file_type(gguf.LlamaFileType.ALL_F32 if qtype_name == "F32" else gguf.LlamaFileType.MOSTLY_Q8_0)

    tokens, scores, types = [], [], []
    for i in range(sp.get_piece_size()):
        tokens.append(sp.id_to_piece(i).encode("utf-8"))
        scores.append(sp.get_score(i))
        types.append(gguf.TokenType.UNKNOWN if sp.is_unknown(i) else gguf.TokenType.CONTROL if sp.is_control(i)
                     else gguf.TokenType.BYTE if sp.is_byte(i) else gguf.TokenType.NORMAL)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(sp.bos_id())
    w.add_eos_token_id(sp.eos_id())
    w.add_unk_token_id(sp.unk_id())
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)

    def matrix(name, t):
        m = t.detach().float().numpy().astype(np.float32)
        if qtype_name == "F32":
            w.add_tensor(name, m)
        else:
            w.add_tensor(name, gguf.quants.quantize(m, qtype), raw_dtype=qtype)

    def vector(name, t):
        w.add_tensor(name, t.detach().float().numpy().astype(np.float32))

    matrix("token_embd.weight", model.embed.weight)
    for i, blk in enumerate(model.blocks):
        p = f"blk.{i}."
        vector(p + "attn_norm.weight", blk.attn_norm)
        matrix(p + "attn_q.weight", blk.wq.weight)
        matrix(p + "attn_k.weight", blk.wk.weight)
        matrix(p + "attn_v.weight", blk.wv.weight)
        matrix(p + "attn_output.weight", blk.wo.weight)
        vector(p + "ffn_norm.weight", blk.ffn_norm)
        matrix(p + "ffn_gate.weight", blk.w1.weight)
        matrix(p + "ffn_up.weight", blk.w3.weight)
        matrix(p + "ffn_down.weight", blk.w2.weight)
    vector("output_norm.weight", model.norm)
    matrix("output.weight", model.output.weight)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1611)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=384)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--context", type=int, default=256)
    ap.add_argument("--rope-base", type=float, default=10000.0)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--steps", type=int, default=0, help="0: as many as fit --time-budget")
    ap.add_argument("--time-budget", type=float, default=1500.0, help="seconds of training, when --steps is 0")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--bench", type=int, default=0, help="time this many steps and exit")
    a = ap.parse_args()

    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    t_start = time.time()

    chapters = extract_corpus(os.path.join(a.out, "kjv.txt"))
    sp = train_tokenizer(os.path.join(a.out, "kjv.txt"), os.path.join(a.out, "tokenizer"), a.vocab, a.seed)
    # A chapter is one document: <s> then its verses, each encoded as a prompt is (with its dummy
    # prefix space), so that decoding gives running prose and "In the beginning" starts as in training.
    ids, n_val_chapters = [], 0
    val_ids = []
    for c, verses in enumerate(chapters):
        target = val_ids if c % 50 == 49 else ids    # every 50th chapter held out for validation
        target.append(sp.bos_id())
        for v in verses:
            target.extend(sp.encode(v))
        n_val_chapters += c % 50 == 49
    data, val = torch.tensor(ids, dtype=torch.long), torch.tensor(val_ids, dtype=torch.long)
    print(f"corpus: {len(chapters)} chapters, {len(ids)} training tokens, {len(val_ids)} validation tokens "
          f"({n_val_chapters} chapters), vocabulary {sp.get_piece_size()}", flush=True)

    model = Llama(a)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params} parameters", flush=True)
    decay = [p for p in model.parameters() if p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95))
    gen = torch.Generator().manual_seed(a.seed)

    def step(i, total):
        lr = a.lr * min(1.0, (i + 1) / a.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, i / total))))
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = batch(data, a, gen)
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return float(loss), lr

    if a.bench:
        t = time.time()
        for i in range(a.bench):
            step(i, a.bench)
        dt = (time.time() - t) / a.bench
        print(f"bench: {dt:.3f} s/step, {a.batch * a.context / dt:.0f} tokens/s", flush=True)
        return

    # The step count must not depend on the machine's speed for a rerun to reproduce the weights, so
    # without --steps: time 20 steps of a throwaway copy (same seed), then fix the count.
    if a.steps == 0:
        probe = Llama(a)
        probe.load_state_dict(model.state_dict())
        saved = (model, opt)
        t = time.time()
        probe_opt = torch.optim.AdamW(probe.parameters(), lr=a.lr)
        pg = torch.Generator().manual_seed(a.seed + 1)
        for _ in range(20):
            x, y = batch(data, a, pg)
            loss = F.cross_entropy(probe(x).flatten(0, 1), y.flatten())
            probe_opt.zero_grad()
            loss.backward()
            probe_opt.step()
        per_step = (time.time() - t) / 20
        a.steps = max(100, int(a.time_budget / per_step))
        model, opt = saved
        print(f"probe: {per_step:.3f} s/step -> {a.steps} steps for {a.time_budget:.0f} s", flush=True)

    curve = []
    t_train = time.time()
    for i in range(a.steps):
        loss, lr = step(i, a.steps)
        if i % 25 == 0 or i == a.steps - 1:
            entry = {"step": i, "loss": round(loss, 4), "lr": round(lr, 6), "seconds": round(time.time() - t_train, 1)}
            if i % 250 == 0 or i == a.steps - 1:
                model.eval()
                entry["val_loss"] = round(evaluate(model, val, a), 4)
                model.train()
            curve.append(entry)
            print(json.dumps(entry), flush=True)
    train_seconds = time.time() - t_train

    model.eval()
    sg = torch.Generator().manual_seed(a.seed)
    samples = [{"prompt": p, "temperature": temp, "text": sample(model, sp, p, 48, temp, sg)}
               for p, temp in [("In the beginning", 0.0), ("And the LORD said unto Moses", 0.0),
                               ("Blessed are the", 0.0), ("In the beginning", 0.8), ("And it came to pass", 0.8)]]
    for s in samples:
        print(json.dumps(s), flush=True)

    torch.save(model.state_dict(), os.path.join(a.out, "weights.pt"))
    write_gguf(model, sp, a, os.path.join(a.out, "model-f32.gguf"), "F32")
    write_gguf(model, sp, a, os.path.join(a.out, "model-q8_0.gguf"), "Q8_0")
    log = {
        "command": "tools/train-default-model/train.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(a).items() if k not in ("out", "bench", "time_budget")),
        "seed": a.seed, "settings": {k: v for k, v in vars(a).items() if k not in ("out", "bench")},
        "corpus": {"source": "Debian bible-kjv-text (King James Version, 1611; public domain)",
                   "chapters": len(chapters), "train_tokens": len(ids), "validation_tokens": len(val_ids)},
        "parameters": n_params, "versions": {"torch": torch.__version__, "sentencepiece": spm.__version__},
        "train_seconds": round(train_seconds, 1), "total_seconds": round(time.time() - t_start, 1),
        "tokens_seen": a.steps * a.batch * a.context,
        "final_loss": curve[-1]["loss"], "final_val_loss": curve[-1].get("val_loss"),
        "loss_curve": curve, "samples": samples,
    }
    with open(os.path.join(a.out, "train-log.json"), "w") as f:
        json.dump(log, f, indent=1)
        f.write("\n")
    print(f"done in {time.time() - t_start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
