#!/usr/bin/env bash
# What the lead's one device call runs, from the repo root, after tools/gpu-pack filled .gpu/ here:
#   OUT=/some/dir bash tools/gpu-run.sh
# The device has no Java and no network: everything runs on the carried .gpu/ (JDK, jars, data).
# Every step is time-boxed and the whole script ends within GPU_RUN_BUDGET seconds (default 345);
# a failing step is logged and the next one runs. GPU_RUN_STEPS="junit-cuda bench-8b ..." runs only the
# steps named (env always runs; names as in the headers). Into $OUT (at most 8 files come back):
#   gpu-run.log       every step's output, each under a timestamped header
#   summary.json      per step: exit code, seconds; and the figures gathered from the others
#   tandem.ptx        kernels/src/main/cuda/tandem.cu compiled by the device's nvcc
#   ptxas.txt         nvcc -Xptxas -v for sm_90 (registers, spills)
#   ceilings.json     torch: device-to-device copy bandwidth, f16 and bf16 GEMM peaks
#   device-bench.json tandem device-bench --device cuda (docs/gpu-results.md)
#   junit.tgz         the JUnit console launcher's XML reports
# Without a GPU (here) the GPU steps say why they skip, and the rest still runs (cpu/opencl).
set -u
export PATH="$PATH:/usr/local/cuda/bin"   # nvcc where the image does not put it on PATH
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
: "${OUT:?set OUT to the folder the results go to}"
mkdir -p "$OUT"
budget="${GPU_RUN_BUDGET:-345}"
device="${GPU_RUN_DEVICE:-cuda}"        # GPU_RUN_DEVICE=opencl tries the same steps on another backend
start=$(date +%s)
work=/tmp/gpu-run
rm -rf "$work" && mkdir -p "$work/profiles" "$work/junit"
log="$OUT/gpu-run.log"
status="$work/status.tsv"
: > "$log"
: > "$status"
export root work log device OUT

say() { echo "$*" | tee -a "$log"; }

# --- the carried runtime -------------------------------------------------------------------------
pack="$root/.gpu"
if [ ! -f "$pack/jdk.tar.xz" ]; then
  say "gpu-run: no .gpu/jdk.tar.xz: run tools/gpu-pack first (and carry .gpu)"
  exit 2
fi
mkdir -p "$work/jdk"
if ! tar -C "$work" -xJf "$pack/jdk.tar.xz" 2>>"$log"; then
  # No xz binary: python's tarfile reads xz itself.
  python3 -c "import tarfile,sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" "$pack/jdk.tar.xz" "$work" 2>>"$log"
fi
JAVA="$work/jdk/bin/java"
export JAVA
"$JAVA" -version >>"$log" 2>&1 || { say "gpu-run: the carried java does not start"; exit 2; }

# ../shared as the tests and the CLI expect it, from the carried copy (a real ../shared wins).
if [ ! -d "$root/../shared/models" ]; then
  ln -sfn "$pack/shared" "$root/../shared" 2>/dev/null || true
fi
shared="$(cd "$root/../shared" 2>/dev/null && pwd || echo "$pack/shared")"
export shared

# The CLI's java command, as ./tandem builds it: the module path, the native-access list, the flags.
mp=""
for jar in "$pack"/mp/*.jar; do mp="$mp${mp:+:}$jar"; done
native="dev.tandem.runtime"
case "$mp" in *lwjgl*) native="$native,org.lwjgl,dev.tandem.device.gpu" ;; esac
case "$mp" in *jcuda*) native="$native,jcuda" ;; esac  # as ./tandem: JCuda loads its JNI library
export TANDEM_MP="$mp" TANDEM_NATIVE="$native"
tandem() {
  "$JAVA" ${GPU_RUN_JAVA_OPTS:-} -XX:CompileCommandFile="$root/scripts/kernels.compile-commands" \
    -Dtandem.profiles.dir="$work/profiles" \
    --add-modules jdk.incubator.vector,ALL-MODULE-PATH --enable-native-access="$TANDEM_NATIVE" \
    --sun-misc-unsafe-memory-access=allow -p "$TANDEM_MP" -m dev.tandem.runtime/dev.tandem.runtime.cli.Main "$@"
}
cp=""
for jar in "$pack"/mp/*.jar "$pack"/test/tandem-*.jar; do cp="$cp${cp:+:}$jar"; done
export TANDEM_TEST_CP="$cp" JUNIT_JAR="$(ls "$pack"/test/junit-platform-console-standalone-*.jar)"
# On the JVM's own class path (java.class.path), from device-gpu/: as surefire runs the tests.
junit() { # $1 = report name, then selectors
  local name=$1; shift
  cd "$root/device-gpu" && "$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xss4m --sun-misc-unsafe-memory-access=allow \
    -Dtandem.shared="$shared" -Dtandem.profiles.dir="$work/profiles-test" -Dtandem.calibrate=never \
    -cp "$TANDEM_TEST_CP:$JUNIT_JAR" org.junit.platform.console.ConsoleLauncher \
    execute --disable-banner --disable-ansi-colors --details=tree --reports-dir "$work/junit/$name" "$@"
}
PY=python3
for p in python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import torch' 2>/dev/null; then PY="$p"; break; fi
done
export PY
export -f tandem junit say
have_gpu() { command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; }
export -f have_gpu

# run_step NAME LIMIT FUNCTION: time-boxed, logged, never fatal; the limit shrinks to what the budget has left.
run_step() {
  local name=$1 limit=$2 fn=$3
  if [ -n "${GPU_RUN_STEPS:-}" ] && [[ " $GPU_RUN_STEPS " != *" $name "* ]]; then
    say "=== $name: not selected (GPU_RUN_STEPS=$GPU_RUN_STEPS)"
    printf '%s\t%s\t%s\n' "$name" "not-selected" 0 >> "$status"
    return
  fi
  local left=$((budget - ($(date +%s) - start)))
  [ "$limit" -gt "$left" ] && limit=$left
  if [ "$limit" -lt 5 ]; then
    say "=== [$(date -u +%H:%M:%S)] $name: SKIPPED (the ${budget} s budget is spent)"
    printf '%s\t%s\t%s\n' "$name" "skipped" 0 >> "$status"
    return
  fi
  say "=== [$(date -u +%H:%M:%S)] $name (limit ${limit} s)"
  local t0; t0=$(date +%s.%N)
  timeout -k 5 "$limit" bash -c "$fn" >>"$log" 2>&1
  local rc=$?
  local dt; dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  [ "$rc" = 124 ] && say "    ($name ran out of its ${limit} s)"
  say "=== $name: exit $rc in $dt s"
  printf '%s\t%s\t%s\n' "$name" "$rc" "$dt" >> "$status"
}

# --- the steps -----------------------------------------------------------------------------------
step_env() {
  uname -a; nproc; free -g | head -2
  if have_gpu; then
    nvidia-smi
    nvidia-smi -q | grep -E 'Product Name|Driver Version|CUDA Version|Compute Mode|Max Clocks|Graphics  |SM  |Memory  |Total|Bus Id|Persistence|Power Limit|Current Limit' | head -40
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv
  else
    echo "no GPU: nvidia-smi is missing or lists no device; GPU steps will say they skip"
  fi
  command -v nvcc && nvcc --version || echo "no nvcc on PATH"
  ldconfig -p | grep -E 'libcuda\.so' || echo "no libcuda.so in ldconfig's cache"
  echo "java: $("$JAVA" -version 2>&1 | head -1)"; echo "python: $PY $("$PY" --version 2>&1)"
  echo "shared: $shared -> $(ls "$shared/models" | tr '\n' ' ')"
  echo "module path:"; tr ':' '\n' <<<"$TANDEM_MP" | sed 's|.*/|  |'
}

step_nvcc() {
  local cu="$root/kernels/src/main/cuda/tandem.cu"
  [ -f "$cu" ] || { echo "SKIP: no $cu on this branch"; return 0; }
  command -v nvcc >/dev/null || { echo "SKIP: no nvcc"; return 0; }
  # tools/cuda-ptx's flags: no FMA contraction, so the host's bits hold.
  nvcc --fmad=false -O3 -arch=compute_80 -ptx "$cu" -o "$work/tandem.ptx" && cp "$work/tandem.ptx" "$OUT/tandem.ptx"
  local rc=$?
  nvcc --fmad=false -O3 -arch=sm_90 -cubin -Xptxas -v "$cu" -o "$work/tandem.sm_90.cubin" > "$OUT/ptxas.txt" 2>&1
  local rc2=$?
  cat "$OUT/ptxas.txt"
  echo "spills (non-zero):"; grep -E 'spill' "$OUT/ptxas.txt" | grep -vE ' 0 bytes spill stores, 0 bytes spill loads' || echo "  none"
  local committed; committed=$(find "$root/kernels/src/main/resources" -name '*.ptx' | head -1)
  if [ -n "$committed" ]; then
    echo "committed PTX: $committed ($(wc -c <"$committed") bytes); device-compiled: $(wc -c <"$work/tandem.ptx" 2>/dev/null) bytes"
    diff <(grep -v '^//' "$committed") <(grep -v '^//' "$work/tandem.ptx") >/dev/null \
      && echo "device nvcc's PTX equals the committed one (comments aside)" \
      || echo "device nvcc's PTX differs from the committed one (comments aside)"
  fi
  return $((rc | rc2))
}

step_devices() { tandem devices; }

step_junit_cuda() {
  junit cuda --fail-if-no-tests --select-package dev.tandem.device.gpu.cuda
}

step_junit_opencl_conformance() {
  # The same suite on OpenCL: where the device has an NVIDIA ICD it runs on the GPU too.
  junit opencl --select-class dev.tandem.device.gpu.opencl.OpenClConformanceTest
}

step_references() {
  local rc=0
  for m in stories260K-f16.gguf stories260K-q8_0.gguf stories260K-q4_0.gguf stories260K.bin; do
    local tok=(); [ "$m" = stories260K.bin ] && tok=(--tokenizer "$shared/models/llama2-tokenizer.bin")
    for d in cpu "$device"; do
      echo "--- generate $m on $d"
      tandem generate -m "$shared/models/$m" "${tok[@]}" --prompt-ids 1 -n 64 --temp 0 --ids --device "$d" \
        --logits-out "$work/$m.$d.logits.json" > "$work/$m.$d.ids" || { rc=1; echo "generate on $d failed"; }
    done
    "$PY" - "$shared/reference/$m.json" "$work/$m.cpu.ids" "$work/$m.$device.ids" "$work/$m.cpu.logits.json" \
      "$work/$m.$device.logits.json" "$m" "$device" <<'PYEOF' | tee -a "$work/references.jsonl" || rc=1
import json, math, sys
ref, cpu_ids, dev_ids, cpu_logits, dev_logits, model, device = sys.argv[1:]
def ids(p):
    try: return [int(t) for t in open(p).read().split()]
    except OSError: return None
case = next(c for c in json.load(open(ref))["cases"] if c["prompt_ids"] == [1])
r, c, d = case["greedy_ids"], ids(cpu_ids), ids(dev_ids)
def agree(a, b):
    n = 0
    for x, y in zip(a or [], b or []):
        if x != y: break
        n += 1
    return n
rel = None
try:
    lc, ld = json.load(open(cpu_logits)), json.load(open(dev_logits))
    rel = math.sqrt(sum((x - y) ** 2 for x, y in zip(lc, ld))) / math.sqrt(sum(x * x for x in lc))
except (OSError, ValueError):
    pass
print(json.dumps({"model": model, "device": device, "generated": len(d or []),
                  "device_ids_equal_cpu": d is not None and d == c,
                  "device_prefix_equal_reference": agree(d, r), "cpu_prefix_equal_reference": agree(c, r),
                  "prompt_logits_rel_l2_device_vs_cpu": rel}))
sys.exit(0 if d is not None and d == c else 1)
PYEOF
    [ "${PIPESTATUS[0]}" = 0 ] || rc=1
  done
  return $rc
}

step_plan_runs() {
  local rc=0
  echo "--- run single on $device (stories260K f16, greedy)"
  tandem run -m "$shared/models/stories260K-f16.gguf" --pool "$device" --policy single --prompt-ids 1 -n 32 --temp 0 \
    --calibrate never || rc=1
  echo "--- run afd on $device,lp30*2 (stories260K q8_0), calibrating $device first"
  tandem run -m "$shared/models/stories260K-q8_0.gguf" --pool "$device,lp30*2" --policy afd --prompt-ids 1 -n 32 \
    --calibrate auto --calibrate-point-limit 1 --json > "$work/run-afd.json" || rc=1
  return $rc
}

step_ceilings() {
  "$PY" - "$OUT/ceilings.json" <<'PYEOF'
import json, sys, time
out = sys.argv[1]
try:
    import torch
except ImportError:
    print("SKIP: no torch"); json.dump({"skipped": "no torch"}, open(out, "w")); sys.exit(0)
if not torch.cuda.is_available():
    print("SKIP: torch sees no GPU"); json.dump({"skipped": "torch sees no GPU"}, open(out, "w")); sys.exit(0)
r = {"device": torch.cuda.get_device_name(0), "sms": torch.cuda.get_device_properties(0).multi_processor_count,
     "torch": torch.__version__}
def timed(fn, warm=3, n=10):
    for _ in range(warm): fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(n):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(); fn(); b.record(); torch.cuda.synchronize()
        ts.append(a.elapsed_time(b) / 1e3)
    ts.sort()
    return ts[len(ts) // 2]
n = 1 << 30  # bytes copied, as tandem device-bench's default copy
src = torch.empty(n, dtype=torch.uint8, device="cuda"); dst = torch.empty_like(src)
t = timed(lambda: dst.copy_(src))
r["copy_bytes"] = n; r["copy_s"] = t
r["copy_gbps"] = 2 * n / t / 1e9          # read + write: the convention tandem device-bench uses
r["copy_one_way_gbps"] = n / t / 1e9
del src, dst
for name, dt in (("f16", torch.float16), ("bf16", torch.bfloat16)):
    m = 8192
    a = torch.randn(m, m, device="cuda", dtype=dt); b = torch.randn(m, m, device="cuda", dtype=dt)
    t = timed(lambda: a @ b)
    r[f"gemm_{name}_8192_tflops"] = 2 * m ** 3 / t / 1e12
    # the prefill shape of device-bench: 512 tokens against an 16384 x 8192 matrix
    x = torch.randn(512, 8192, device="cuda", dtype=dt); w = torch.randn(16384, 8192, device="cuda", dtype=dt)
    t = timed(lambda: x @ w.T)
    r[f"gemm_{name}_512x16384x8192_tflops"] = 2 * 512 * 16384 * 8192 / t / 1e12
    # batch-1 matvec on 256 MiB of f16/bf16 weights: torch's own fraction of the copy bandwidth
    v = torch.randn(1, 8192, device="cuda", dtype=dt)
    t = timed(lambda: v @ w.T)
    r[f"matvec_{name}_256mib_gbps"] = w.numel() * 2 / t / 1e9
    del a, b, x, w, v
print(json.dumps(r, indent=1)); json.dump(r, open(out, "w"), indent=1)
PYEOF
}

# GPU_RUN_SMALL=1: tiny sizes, to try the script on a machine without a GPU (cpu, PoCL).
if [ "${GPU_RUN_SMALL:-0}" = 1 ]; then
  export BENCH_SIZES="--copy-mib 16 --matvec-mib 4 --cols 1024 --batch 16" BENCH_1B=synthetic:F16 BENCH_8B=synthetic:F32
else
  export BENCH_SIZES="--copy-mib 1024 --matvec-mib 256 --cols 8192 --batch 512"
  export BENCH_1B=llama-3.2-1b:F16,llama-3.2-1b:Q8_0 BENCH_8B="${GPU_RUN_8B_MODELS:-llama-3-8b:F16,llama-3-8b:Q8_0}"
fi
step_bench_kernels() {
  # copy 1 GiB, matvec on 256 MiB per format, matmul batch 512; the 1B-shaped models
  GPU_RUN_JAVA_OPTS="-XX:MaxDirectMemorySize=100g" tandem device-bench --device "$device" --warmup 3 --runs 10 \
    --decode-tokens 32 $BENCH_SIZES --formats F16,Q8_0,Q4_0 --models "$BENCH_1B" --json "$work/bench-1b.json"
}
step_bench_8b() {
  # the 8B-shaped models (16 GB of F16 built in host memory, then uploaded): copy again, no matmuls
  GPU_RUN_JAVA_OPTS="-XX:MaxDirectMemorySize=100g" tandem device-bench --device "$device" --warmup 3 --runs 5 \
    --decode-tokens 32 $BENCH_SIZES --formats none --models "$BENCH_8B" --json "$work/bench-8b.json"
}
export -f step_env step_nvcc step_devices step_junit_cuda step_junit_opencl_conformance step_references \
  step_plan_runs step_ceilings step_bench_kernels step_bench_8b

gpu_or_skip() { # the GPU-only steps on a machine without one
  if have_gpu || [ "$device" != cuda ]; then run_step "$@"; else
    say "=== [$(date -u +%H:%M:%S)] $1: SKIPPED (no GPU here: nvidia-smi lists none; GPU_RUN_DEVICE=opencl runs it on OpenCL)"; printf '%s\t%s\t%s\n' "$1" "skipped-no-gpu" 0 >> "$status"; fi
}

GPU_RUN_STEPS="${GPU_RUN_STEPS:+env $GPU_RUN_STEPS}" run_step env 20 step_env
run_step nvcc 60 step_nvcc
run_step devices 30 step_devices
run_step junit-cuda 120 step_junit_cuda
gpu_or_skip references 60 step_references
gpu_or_skip plan-runs 90 step_plan_runs
gpu_or_skip ceilings 45 step_ceilings
gpu_or_skip bench-kernels-1b 120 step_bench_kernels
gpu_or_skip bench-8b 120 step_bench_8b
run_step junit-opencl 60 step_junit_opencl_conformance

# --- what comes back -----------------------------------------------------------------------------
(cd "$work" && tar czf "$OUT/junit.tgz" junit 2>/dev/null)
"$PY" - "$status" "$work" "$OUT" "$(( $(date +%s) - start ))" <<'PYEOF' >>"$log" 2>&1
import json, os, sys
status, work, out, seconds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = {"seconds": seconds, "steps": []}
for line in open(status):
    name, rc, dt = line.rstrip("\n").split("\t")
    s["steps"].append({"step": name, "exit": rc, "seconds": float(dt)})
def load(p):
    try: return json.load(open(p))
    except (OSError, ValueError): return None
s["references"] = [json.loads(l) for l in open(os.path.join(work, "references.jsonl"))] \
    if os.path.exists(os.path.join(work, "references.jsonl")) else []
s["ceilings"] = load(os.path.join(out, "ceilings.json"))
bench = {"parts": {}}
for part in ("bench-1b", "bench-8b"):
    b = load(os.path.join(work, part + ".json"))
    if b: bench["parts"][part] = b
json.dump(bench, open(os.path.join(out, "device-bench.json"), "w"), indent=1)
afd = load(os.path.join(work, "run-afd.json"))
if afd: s["run_afd"] = {k: afd[k] for k in ("verdict", "verified", "ids") if k in afd}
json.dump(s, open(os.path.join(out, "summary.json"), "w"), indent=1)
print("summary:", json.dumps(s["steps"]))
PYEOF
say "gpu-run: done in $(( $(date +%s) - start )) s; files in $OUT: $(ls "$OUT" | tr '\n' ' ')"
