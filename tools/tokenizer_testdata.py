"""Writes the tokenizer test data: vocabularies as GGUF (llama.cpp's gguf-py) and llama.cpp's own
tokenization of a fixed set of texts with each (llama-tokenize), as JSON.

    python3 tools/tokenizer_testdata.py OUT_DIR LLAMA2_TOKENIZER_BIN LLAMA_TOKENIZE_BINARY

Vocabularies:
  * spm-llama2: Llama 2's SentencePiece vocabulary (../shared/models/llama2-tokenizer.bin, llama2.c's
    format) as a vocabulary-only GGUF in a temporary file (32000 pieces: not committed; Tandem's
    test reads the .bin itself, as `tandem tokenize --tokenizer` does).
  * bpe-llama3, bpe-qwen2: a byte-level BPE vocabulary of a few hundred merges trained here on a fixed
    text (so the merges are real), with Llama 3's and Qwen 2's chat special tokens, written twice,
    once per pre-tokenizer (tokenizer.ggml.pre "llama-bpe" and "qwen2"). Committed (a few KB each).
"""
import collections
import json
import regex
import os
import struct
import subprocess
import sys
import tempfile

import gguf

TEXTS = [
    "Hello world",
    "Once upon a time, there was a little girl named Lily.",
    " leading space and  two  spaces",
    "trailing spaces   ",
    "Tabs\tand\nnew\n\nlines\r\n",
    "I'm sure they'll say WE'RE done, don't you think?",
    "Numbers: 1 12 123 1234 12345 3.14159 2024-06-01",
    "héllo wörld, naïve café",
    "日本語のテキスト and 中文",
    "emoji 🙂🚀 mixed",
    "<|begin_of_text|>special<|end_of_text|>",
    "<|im_start|>user\nHi there!<|im_end|>\n<|im_start|>assistant\n",
    "a<s>b</s>c",
    "   ",
    "x",
    "The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX!",
    "snake_case and camelCase, e-mail@example.com, https://example.org/path?q=1",
]

TRAINING_TEXT = """Once upon a time, there was a little girl named Lily. She liked to play in the park with
her friends. One day, she saw a big dog. The dog was friendly and wanted to play. Lily and the dog ran
and jumped and laughed. They were very happy. The quick brown fox jumps over the lazy dog. Hello world!
The world is big and the sky is blue. There were three little pigs and a wolf. 123 456 7890.
In 2024 there were 123 cats, 1234 dogs and 12 birds; 12 plus 123 is 135, and 1234 minus 12 is 1222."""

LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|im_start|>", "<|im_end|>"]


def byte_unicode():
    """GPT-2's reversible map from bytes to printable code points."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def train_bpe(text, merges_wanted):
    bu = byte_unicode()
    words = collections.Counter()
    for w in regex.findall(LLAMA3_SPLIT, text):  # words as Llama 3 splits them: digits apart from spaces
        words[tuple(bu[b] for b in w.encode())] += 1
    merges = []
    for _ in range(merges_wanted):
        pairs = collections.Counter()
        for w, n in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += n
        if not pairs:
            break
        (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        merges.append((a, b))
        new_words = collections.Counter()
        for w, n in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new_words[tuple(out)] += n
        words = new_words
    tokens = [bu[b] for b in range(256)]
    for a, b in merges:
        if a + b not in tokens:
            tokens.append(a + b)
    return tokens, [f"{a} {b}" for a, b in merges]


def write_bpe(path, pre, tokens, merges):
    w = gguf.GGUFWriter(path, "llama")
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    all_tokens = tokens + SPECIALS
    w.add_token_list(all_tokens)
    w.add_token_types([gguf.TokenType.NORMAL] * len(tokens) + [gguf.TokenType.CONTROL] * len(SPECIALS))
    w.add_token_merges(merges)
    w.add_bos_token_id(len(tokens))
    w.add_eos_token_id(len(tokens) + 1)
    w.add_add_bos_token(True)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.close()


def write_spm(path, bin_path):
    with open(bin_path, "rb") as f:
        data = f.read()
    off = 4  # max_token_length
    tokens, scores = [], []
    while off < len(data):
        score, n = struct.unpack_from("<fi", data, off)
        off += 8
        # llama2.c's export wrote SentencePiece's U+2581 as a plain space; GGUF keeps U+2581
        tokens.append(data[off:off + n].replace(b" ", "\u2581".encode()))
        off += n
        scores.append(score)
    types = []
    for i, t in enumerate(tokens):
        if i == 0:
            types.append(gguf.TokenType.UNKNOWN)
        elif i in (1, 2):
            types.append(gguf.TokenType.CONTROL)
        elif t.startswith(b"<0x") and t.endswith(b">") and len(t) == 6:
            types.append(gguf.TokenType.BYTE)
        else:
            types.append(gguf.TokenType.NORMAL)
    w = gguf.GGUFWriter(path, "llama")
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.close()
    return len(tokens)


def tokenize(binary, model, text, work):
    path = os.path.join(work, "text.txt")
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    out = subprocess.run([binary, "-m", model, "-f", path, "--ids", "--log-disable"],
                         capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    return json.loads(out)


def main():
    out_dir, spm_bin, binary = sys.argv[1:4]
    os.makedirs(out_dir, exist_ok=True)
    tokens, merges = train_bpe(TRAINING_TEXT, 300)
    doc = {"generator": "tools/tokenizer-testdata", "oracle": "llama.cpp llama-tokenize (special tokens parsed, BOS as the vocabulary says)",
           "vocabularies": []}
    with tempfile.TemporaryDirectory() as work:
        spm = os.path.join(work, "spm.gguf")
        n = write_spm(spm, spm_bin)
        doc["vocabularies"].append({"name": "spm-llama2", "file": "../shared/models/llama2-tokenizer.bin", "size": n,
                                    "cases": [{"text": t, "ids": tokenize(binary, spm, t, work)} for t in TEXTS]})
        for name, pre in (("bpe-llama3", "llama-bpe"), ("bpe-qwen2", "qwen2")):
            path = os.path.join(out_dir, name + ".gguf")
            write_bpe(path, pre, tokens, merges)
            doc["vocabularies"].append({"name": name, "file": name + ".gguf", "size": len(tokens) + len(SPECIALS),
                                        "cases": [{"text": t, "ids": tokenize(binary, path, t, work)} for t in TEXTS]})
    with open(os.path.join(out_dir, "llama-cpp.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))


if __name__ == "__main__":
    main()
