"""The table of benchmarks/vs-llama-cpp from one run's JSON files (llama-bench -o json and
tandem bench --json, one file per tool, model and repetition)."""
import glob
import json
import statistics
import sys

import gguf

run, bw, models, shapes, formats, n_prompt, n_gen, tools = sys.argv[1:9]
bw = float(bw) * 1e9


def weight_bytes(path):
    """Bytes one decode step reads: every tensor except the embedding table (one row of it)."""
    r = gguf.GGUFReader(path)
    return sum(int(t.n_bytes) for t in r.tensors if t.name != "token_embd.weight")


def samples(shape, fmt, who, test):
    out = []
    for f in sorted(glob.glob(f"{run}/{shape}-{fmt}-{who}-*.json")):
        for row in json.load(open(f)):
            name = row.get("test") or (f"pp{row['n_prompt']}" if row.get("n_gen", 0) == 0 else f"tg{row['n_gen']}")
            if name == test:
                out.extend(row.get("samples_ts") or [row["avg_ts"]])
    if not out:
        raise SystemExit(f"vs-llama-cpp: no {test} result from {who} for {shape} {fmt} in {run}")
    return out


print(f"read bandwidth {bw / 1e9:.1f} GB/s; tok/s are means over repetitions (sd in brackets)")
print("| shape | format | test | llama.cpp tok/s | Tandem tok/s | Tandem / llama.cpp | llama.cpp of floor | Tandem of floor |")
print("|---|---|---|---|---|---|---|---|")
for shape in shapes.split():
    for fmt in formats.split():
        wb = weight_bytes(f"{models}/{shape}-{fmt}.gguf")
        floor = bw / wb
        for test in (f"pp{n_prompt}", f"tg{n_gen}"):
            l = samples(shape, fmt, "llama", test)
            lm = statistics.mean(l)
            ls = statistics.stdev(l) if len(l) > 1 else 0.0
            of = (lambda v: f"{v / floor:.2f}") if test.startswith("tg") else (lambda v: "-")
            if "tandem" in tools.split():
                t = samples(shape, fmt, "tandem", test)
                tm = statistics.mean(t)
                ts = statistics.stdev(t) if len(t) > 1 else 0.0
                tandem = f"{tm:.1f} ({ts:.1f}) | {tm / lm:.2f} | {of(lm)} | {of(tm)}"
            else:
                tandem = f"not run | - | {of(lm)} | -"
            print(f"| {shape} | {fmt.upper()} | {test} | {lm:.1f} ({ls:.1f}) | {tandem} |")
print(f"decode floor = bandwidth / bytes read per token (all tensors but the embedding table)")
