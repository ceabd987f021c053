"""The table of benchmarks/vs-llama-cpp --batched from one run's files: llama-batched-bench's jsonl and
tandem bench -b --json, one file per tool, model and repetition. Generation speed per system is
tokens/s over all sequences; per user, one sequence's share (system / batch size)."""
import glob
import json
import statistics
import sys

run, shapes, formats, batches, tools = sys.argv[1:6]
batches = [int(b) for b in batches.split(",")]


def speeds(shape, fmt, who):
    """Batch size -> generation tokens/s (system) of every repetition."""
    out = {}
    for f in sorted(glob.glob(f"{run}/{shape}-{fmt}-{who}-*.json*")):
        text = open(f).read()
        rows = json.loads(text) if who == "tandem" else [json.loads(l) for l in text.splitlines() if l.startswith("{")]
        for row in rows:
            out.setdefault(int(row["pl"]), []).append(float(row["speed_tg"]))
    for b in batches:
        if b not in out:
            raise SystemExit(f"vs-llama-cpp: no batch {b} result from {who} for {shape} {fmt} in {run}")
    return out


print("generation tok/s, means over repetitions; per user = system / batch size")
print("| shape | format | batch | llama.cpp system | llama.cpp per user | Tandem system | Tandem per user | Tandem / llama.cpp |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for shape in shapes.split():
    for fmt in formats.split():
        llama = speeds(shape, fmt, "llama")
        tandem = speeds(shape, fmt, "tandem") if "tandem" in tools.split() else None
        for b in batches:
            lm = statistics.mean(llama[b])
            if tandem:
                tm = statistics.mean(tandem[b])
                t = f"{tm:.1f} | {tm / b:.1f} | {tm / lm:.2f}"
            else:
                t = "not run | - | -"
            print(f"| {shape} | {fmt.upper()} | {b} | {lm:.1f} | {lm / b:.1f} | {t} |")
