#!/usr/bin/env bash
# GPU check, one short script (a few minutes on one GPU): the quickstart from a cold cache on CUDA,
# the VizPert acceptance and ablation configs, and VizPert's perturbation cost vs PGD-10.
# Writes JSON and Markdown summaries to $OUT (default benchmarks/results/gpu).
# On a lent machine without torchattacks, carry it as a wheel in .whl/; Fashion-MNIST can travel in
# .data/fashion-mnist (both git-ignored through .git/info/exclude).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-benchmarks/results/gpu}
mkdir -p "$OUT"
if [ -d .whl ] && ! python3 -c "import torchattacks" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1
[ -d .data/fashion-mnist ] && export BENCH_DATA=$PWD/.data/fashion-mnist
export BENCH_CACHE=${BENCH_CACHE:-/tmp/bench-cache}
RUNS=/tmp/bench-runs
LOG="$OUT/log.txt"
: > "$LOG"

step() {  # step NAME COMMAND...: run, time, keep the log
    local name=$1; shift
    local t0=$(date +%s.%N)
    "$@" >"$OUT/$name.md" 2>>"$LOG" || { echo "step $name failed" | tee -a "$LOG"; tail -20 "$LOG"; exit 1; }
    python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)" > "/tmp/t_$name"
}

step quickstart_cold python3 -m bench run --device cuda --output $RUNS --run-id quickstart
step quickstart_warm python3 -m bench run --device cuda --output $RUNS --run-id quickstart-warm
step acceptance python3 -m bench run --device cuda --config configs/vizpert-acceptance.toml --output $RUNS --run-id acceptance
step ablation_image python3 -m bench run --device cuda --config configs/vizpert-ablation-image.toml --output $RUNS --run-id ablation-image
python3 benchmarks/vizpert_cost.py --device cuda --out "$OUT/vizpert_cost.json" >/dev/null 2>>"$LOG"
python3 - "$OUT" <<'PY'
import json, subprocess, sys, pathlib
out = pathlib.Path(sys.argv[1])
times = {n: float(pathlib.Path(f"/tmp/t_{n}").read_text()) for n in
         ("quickstart_cold", "quickstart_warm", "acceptance", "ablation_image")}
gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                     capture_output=True, text=True).stdout.strip()
(out / "gpu_check.json").write_text(json.dumps({"gpu": gpu, "wall_seconds": times}, indent=2) + "\n")
print(json.dumps({"gpu": gpu, "wall_seconds": times}, indent=2))
PY
cp $RUNS/acceptance/results.csv "$OUT/acceptance_results.csv"
