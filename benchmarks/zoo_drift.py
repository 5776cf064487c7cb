"""How far the quickstart's numbers move when the mini zoo is trained on another machine.

Trained weights depend on the float summation order, which the torch thread count and the CPU's
instruction set change. A probe first trains mini:resnet for 50 steps on random images in
subprocesses: at `--threads` twice, at `--other-threads`, and with torch's or oneDNN's or MKL's code
path pinned lower (`ATEN_CPU_CAPABILITY=default`, `ONEDNN_MAX_CPU_ISA=SSE41`, `MKL_CBWR=COMPATIBLE`),
and records each weight digest. Then it trains the zoo three times, each with `bench zoo train` in a
fresh cache:

- `reference`: zoo seed 0 at `--threads` (default 2, the README machine's count);
- `other_machine`: zoo seed 0 at `--other-threads` (default 1), standing in for another machine;
- `other_seed`: zoo seed 1 at `--threads`, a genuinely different draw of the zoo, for scale;

then runs the same grid (the quickstart's unless told otherwise, attack seed 0, the same threads)
on each and reports, per attack and mode, the largest and mean per-row difference of the headline
rate against `reference`, the zoo cards' test accuracies and whether the weights are identical.

    python benchmarks/zoo_drift.py                       # about 35 minutes on 2 cores
    python benchmarks/zoo_drift.py --models mini:resnet --n 200

Writes JSON (benchmarks/results/zoo_drift.json); asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench  # noqa: E402
from bench.config import DEFAULT_MODELS  # noqa: E402
from benchlib import write_result  # noqa: E402
from common.outcomes import headline_rate  # noqa: E402
from compile_equivalence import KEYS  # noqa: E402  (a results row's identity, as compared there)


PROBE = """
import hashlib, torch
from zoo.mini import MINI_SPECS
from zoo.specs import InputSpec
from zoo.train import fit_classifier
spec = InputSpec("probe", 1, 28, 28, 10, (0.286,), (0.353,))
x = torch.rand(6400, 1, 28, 28, generator=torch.Generator().manual_seed(0))
y = torch.randint(0, 10, (6400,), generator=torch.Generator().manual_seed(1))
torch.manual_seed(0)
net = MINI_SPECS["resnet"].build(spec)
fit_classifier(net, spec.mean, spec.std, x, y, epochs=1, lr=2e-3, seed=0)
print(hashlib.sha256(b"".join(t.detach().numpy().tobytes() for t in net.state_dict().values())).hexdigest()[:16])
"""


def probe(threads: int, other_threads: int) -> dict[str, str]:
    """Weight digests of 50 mini:resnet training steps under each thread count and pinned code path."""
    pinned = {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41", "MKL_CBWR": "COMPATIBLE"}
    settings: dict[str, tuple[int, dict[str, str]]] = {  # name: (threads, extra environment)
        f"{threads}_threads": (threads, {}), f"{threads}_threads_again": (threads, {}),
        f"{other_threads}_threads": (other_threads, {}),
        **{f"{threads}_threads_{k}={v}": (threads, {k: v}) for k, v in pinned.items()}}
    out = {}
    for name, (n, extra) in settings.items():
        env = {**os.environ, "OMP_NUM_THREADS": str(n), "MKL_NUM_THREADS": str(n), "PYTHONPATH": str(ROOT), **extra}
        out[name] = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                                   check=True).stdout.strip()
    return out


def train(cache: Path, models: str, seed: int, threads: int) -> tuple[dict[str, dict], float]:
    """`bench zoo train` in a subprocess with `threads` torch threads; the cards it wrote, by model."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bench", "zoo", "train", "--quiet", "--models", models,
                    "--seed", str(seed), "--cache-dir", str(cache)], env=env, check=True)
    seconds = time.perf_counter() - t0
    cards = {}
    for path in sorted((cache / "zoo").rglob(f"*-seed{seed}-*.json")):
        card = json.loads(path.read_text())
        cards[card["name"]] = {k: card.get(k) for k in ("test_accuracy", "sha256", "train_seconds")}
    return cards, round(seconds, 1)


def headline_differences(ref: pd.DataFrame, other: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per attack and mode: the largest and the mean absolute per-row difference of the headline
    rate (points), over white-box and transfer rows, and the white-box mean of each side."""
    out = {}
    both = ref.merge(other, on=KEYS, suffixes=("", "_o"))
    for (attack, targeted), g in both.groupby(["attack", "targeted"]):
        col = headline_rate(bool(targeted))
        d = (g[col] - g[f"{col}_o"]).abs() * 100
        wb = g[g.whitebox]
        out[f"{attack} {'targeted' if targeted else 'untargeted'}"] = {
            "max_points": round(float(d.max()), 1), "mean_points": round(float(d.mean()), 2),
            "whitebox_mean_reference": round(float(wb[col].mean()) * 100, 1),
            "whitebox_mean_other": round(float(wb[f"{col}_o"].mean()) * 100, 1)}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(DEFAULT_MODELS), help="comma-separated mini zoo models")
    p.add_argument("--n", type=int, default=None, help="eval images (default: the quickstart's)")
    p.add_argument("--threads", type=int, default=2, help="torch threads of the reference and other-seed zoos")
    p.add_argument("--other-threads", type=int, default=1, help="torch threads of the other-machine zoo")
    p.add_argument("--work", default=None, help="folder for the caches and runs (default: a temporary one, removed)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "zoo_drift.json"))
    a = p.parse_args()
    work = Path(a.work) if a.work else Path(tempfile.mkdtemp(prefix="zoo-drift-"))
    variants = {"reference": (0, a.threads), "other_machine": (0, a.other_threads), "other_seed": (1, a.threads)}
    options = {"models": a.models.split(","), **({"n": a.n} if a.n else {})}
    torch.set_num_threads(a.threads)
    digests = probe(a.threads, a.other_threads)
    cards, train_walls, runs, run_walls = {}, {}, {}, {}
    for name, (seed, threads) in variants.items():
        cache = work / f"cache-{name}"
        cards[name], train_walls[name] = train(cache, a.models, seed, threads)
        t0 = time.perf_counter()
        runs[name] = bench.run(**options, zoo_seed=seed, cache_dir=str(cache), output=str(work / "runs"),
                               run_id=name, log=None).results()
        run_walls[name] = round(time.perf_counter() - t0, 1)
    ref = runs["reference"]
    write_result({
        "benchmark": "zoo_drift", "models": a.models, "n": int(ref.n.iloc[0]),
        "variants": {k: {"zoo_seed": s, "train_threads": t} for k, (s, t) in variants.items()},
        "grid_threads": a.threads,
        "probe_50_steps_weight_digests": digests,
        "zoo_cards": cards,
        "weights_identical_to_reference": {k: {m: c["sha256"] == cards["reference"][m]["sha256"] for m, c in v.items()}
                                           for k, v in cards.items() if k != "reference"},
        "results_identical_to_reference": {k: bool(runs[k][ref.columns].equals(ref)) for k in runs if k != "reference"},
        "headline_difference_vs_reference": {k: headline_differences(ref, runs[k]) for k in runs if k != "reference"},
        "train_wall_seconds": train_walls, "run_wall_seconds": run_walls,
        "torch": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }, a.out)
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
