#!/usr/bin/env bash
# GPU check, one short script (about 4 minutes on one H100/H200), with random-initialised 224x224 timm
# models so that it needs no weights and no network:
#   1. batched SSIM/PSNR on the GPU vs scikit-image (1000 x 3x224x224): seconds and agreement, and each
#      SSIM method of bench/ssim.py timed alone (conv, separable, fused), to choose the GPU's default;
#   2. throughput_224.py: the runner's PGD-10 vs torchattacks.PGD directly, bf16 + channels-last, compiled
#      (torch.compile modes in $GPU_CHECK_MODES, default "default"; each adds a minute or more of compiling),
#      a profile of one bf16 PGD step,
#      and VizPert perturbation vs PGD-10 (timm:resnet50);
#   3. an end-to-end `bench run` on a generated ImageNet-style folder (3 synsets of JPEGs) with
#      timm:resnet18, timm:densenet121, timm:vgg11 and fgsm, pgd, uap, vizpert on CUDA, with
#      --amp bf16 --channels-last, all reports written.
# With GPU_CHECK_FASHION=1 it also runs the Fashion-MNIST quickstart cold and warm (about 90 s more).
# GPU_CHECK_STEPS picks the steps (default "ssim throughput e2e"); the others are
#   imagenet:  benchmarks/imagenet_phases.py, configs/imagenet.toml scaled down by $GPU_CHECK_SCALE (default 40)
#              at one budget (8/255), with its time per phase and the full config's projected time, both
#              as phases x scale and through a dry run of the full config calibrated per attack by the
#              scaled run ($GPU_CHECK_IMAGENET_ARGS adds flags, e.g. "--compile --amp bf16");
#   throughput_ro: throughput_224.py again for the "reduce-overhead" mode (CUDA graphs) alone, its own JSON.
# GPU_CHECK_DTYPES picks the compiled variants (default "fp32,bf16_channels_last"); each step runs under
# `timeout` ($GPU_CHECK_TIMEOUT_<step>, seconds), so one slow step cannot take the others' time.
# GPU_CHECK_PRESET=issue18 sets what issue 18 still needs, sized for one 10-minute command: the ImageNet config
# at 1/40 with --compile --amp bf16 and its full-config dry run, whose calibrated projection is the 30-minute
# bar (bf16 eager projected 36.9 min on an H200). Compiling comes three times there (the scaled dry run, the
# run, the full dry run): at 1/20, about 330 s passed before the run's grid began (H200), so the step
# gets the whole command (variables set by hand still win, e.g. GPU_CHECK_STEPS="throughput imagenet").
# GPU_CHECK_DRY=1 prints each step's command, runs nothing and writes nothing (tests/test_gpu_check.py reads it).
# Writes JSON to $OUT (default benchmarks/results/gpu_imagenet). On a lent machine without torchattacks, carry it
# as wheels in .whl/ (git-ignored through .git/info/exclude): `bash benchmarks/gpu_wheels.sh` fetches them.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${GPU_CHECK_PRESET:-}" = issue18 ]; then
    : "${GPU_CHECK_STEPS:=imagenet}" "${GPU_CHECK_DTYPES:=bf16_channels_last}" "${GPU_CHECK_SCALE:=40}"
    : "${GPU_CHECK_IMAGENET_ARGS:=--compile --amp bf16}" "${GPU_CHECK_TIMEOUT_throughput:=120}"
    : "${GPU_CHECK_TIMEOUT_imagenet:=540}"  # H200: throughput 75 s; imagenet 88 s eager, compiling adds minutes
    export GPU_CHECK_TIMEOUT_throughput GPU_CHECK_TIMEOUT_imagenet
elif [ -n "${GPU_CHECK_PRESET:-}" ]; then
    echo "unknown GPU_CHECK_PRESET=$GPU_CHECK_PRESET; the preset is issue18" >&2; exit 2
fi
DRY=${GPU_CHECK_DRY:-0}
OUT=${OUT:-benchmarks/results/gpu_imagenet}
[ "$DRY" = 1 ] || mkdir -p "$OUT"
if [ "$DRY" != 1 ] && [ -d .whl ] && ! python3 -c "import torchattacks" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
[ -d .data/fashion-mnist ] && export BENCH_DATA=$PWD/.data/fashion-mnist
export BENCH_CACHE=${BENCH_CACHE:-/tmp/bench-cache}
RUNS=/tmp/bench-runs
LOG="$OUT/log.txt"
if [ "$DRY" = 1 ]; then LOG=/dev/null; else : > "$LOG"; fi  # a dry run leaves the results folder alone
declare -A SECONDS_OF
FAILED=()  # steps that failed or ran out of time: the others still run, and the script exits 1 at the end

STEPS=" ${GPU_CHECK_STEPS:-ssim throughput e2e} "
wanted() { [[ "$STEPS" == *" $1 "* ]]; }

step() {  # step NAME COMMAND...: run and time it (under timeout when $GPU_CHECK_TIMEOUT_NAME is set), stderr in the log
    local name=$1; shift
    local t0=$(date +%s.%N) limit_var="GPU_CHECK_TIMEOUT_$name"
    echo "== $name" >> "$LOG"
    if [ -n "${!limit_var:-}" ]; then set -- timeout "${!limit_var}" "$@"; fi
    if [ "$DRY" = 1 ]; then echo "step $name: $*"; return 0; fi
    "$@" >"/tmp/out_$name.txt" 2>>"$LOG" || { echo "step $name failed (rc $?)" | tee -a "$LOG"; tail -30 "$LOG"; FAILED+=("$name"); return 0; }
    SECONDS_OF[$name]=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)")
    echo "$name: ${SECONDS_OF[$name]} s"
}

wanted ssim && step ssim python3 benchmarks/ssim_speed.py --device cuda --n 1000 --size 224 \
    --out "$OUT/ssim_speed_224_cuda.json"
wanted throughput && step throughput python3 benchmarks/throughput_224.py --device cuda --model timm:resnet50 \
    --batch-size 128 --n 512 --repeats 2 --vizpert-steps 20 --compile-modes "${GPU_CHECK_MODES:-default}" \
    --compile-dtypes "${GPU_CHECK_DTYPES:-fp32,bf16_channels_last}" --profile --out "$OUT/throughput_224.json"
wanted imagenet && step imagenet python3 benchmarks/imagenet_phases.py --device cuda --scale "${GPU_CHECK_SCALE:-40}" \
    --eps 8/255 ${GPU_CHECK_IMAGENET_ARGS:-} --out "$OUT/imagenet_phases.json"
wanted throughput_ro && step throughput_ro python3 benchmarks/throughput_224.py --device cuda --model timm:resnet50 \
    --batch-size 128 --n 512 --repeats 2 --vizpert-steps 1 --compile-modes reduce-overhead \
    --compile-dtypes bf16_channels_last --out "$OUT/throughput_224_reduce_overhead.json"

if [ "$DRY" = 1 ]; then
    if wanted e2e; then echo "step e2e: bench run on a generated folder (not shown)"; fi
    if [ "${GPU_CHECK_FASHION:-0}" = 1 ]; then echo "step quickstart_cold, quickstart_warm: bench run --device cuda"; fi
    exit 0
fi

if wanted e2e; then
python3 - <<'PY'
# an ImageNet-style folder: 3 synsets x 16 JPEGs of 320x256 random images, plus one broken file
import numpy as np, pathlib
from PIL import Image
rng = np.random.default_rng(0)
for s in ("n01440764", "n01443537", "n01484850"):
    d = pathlib.Path("/tmp/val") / s
    d.mkdir(parents=True, exist_ok=True)
    for i in range(16):
        Image.fromarray(rng.integers(0, 256, (256, 320, 3), dtype=np.uint8)).save(d / f"{i}.JPEG")
(pathlib.Path("/tmp/val") / "n01440764" / "broken.JPEG").write_bytes(b"not a jpeg")
PY
cat > /tmp/e2e.toml <<'EOF'
models = ["timm:resnet18", "timm:densenet121", "timm:vgg11"]
attacks = ["fgsm", "pgd", "uap", { name = "vizpert", steps = 50 }]
eps = ["8/255"]
n = 20
n_fit = 20
batch_size = 64
EOF
step e2e python3 -m bench run --config /tmp/e2e.toml --dataset imagefolder:/tmp/val --device cuda --amp bf16 \
    --channels-last --output $RUNS --run-id e2e
cp $RUNS/e2e/results.csv "$OUT/e2e_results.csv"
python3 - "$RUNS/e2e" "$OUT/e2e_manifest.json" <<'PY'
import json, sys, pathlib
run = pathlib.Path(sys.argv[1])
m = json.loads((run / "manifest.json").read_text())
keep = {k: m[k] for k in ("device", "dataset", "models", "batch_fallbacks", "cells", "wall_seconds", "sanity")}
keep["dataset"].pop("classes", None)
keep["reports"] = sorted(p.name for p in run.iterdir() if p.is_file())
keep["plots"] = len(list((run / "plots").glob("*.png")))
pathlib.Path(sys.argv[2]).write_text(json.dumps(keep, indent=1, default=str) + "\n")
PY
fi

if [ "${GPU_CHECK_FASHION:-0}" = 1 ]; then
    step quickstart_cold python3 -m bench run --device cuda --output $RUNS --run-id quickstart
    step quickstart_warm python3 -m bench run --device cuda --output $RUNS --run-id quickstart-warm
fi

python3 - "$OUT" "$(declare -p SECONDS_OF)" <<'PY'
import json, re, subprocess, sys, pathlib
out = pathlib.Path(sys.argv[1])
times = {k: float(v) for k, v in re.findall(r'\[(\w+)\]="([\d.]+)"', sys.argv[2])}
gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                     capture_output=True, text=True).stdout.strip()
result = {"gpu": gpu, "wall_seconds": times}
for name in ("ssim_speed_224_cuda", "throughput_224", "imagenet_phases", "throughput_224_reduce_overhead"):
    if (out / f"{name}.json").is_file():  # a step not wanted, or stopped by its timeout, wrote none
        result[name] = json.loads((out / f"{name}.json").read_text())
(out / "gpu_check.json").write_text(json.dumps(result, indent=2) + "\n")
print(json.dumps(result, indent=2))
PY
if [ ${#FAILED[@]} -gt 0 ]; then echo "failed steps: ${FAILED[*]}" | tee -a "$LOG"; exit 1; fi
