"""The dry run's estimate on an idle machine and beside jobs that keep CPUs busy.

The estimate times a forward+backward pass on each model, so it measures the machine as it is. This
runs the same dry run idle, then beside a background process training a mini ResNet on random data
with 1 torch thread, then with as many as there are CPUs (what a second `bench run` or `bench zoo
train` does). For each: the estimates, the share of its threads' CPU time a pass measurement got
(`common.machine.cpu_share`, what the dry run's busy note reads) and whether the plan carried the note.

    python benchmarks/dryrun_load.py                 # pgd on mini:resnet, 10 images; needs the trained zoo
    python benchmarks/dryrun_load.py --n 1000

Run it on an otherwise idle machine. Writes JSON (benchmarks/results/dryrun_load.json); asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench  # noqa: E402
from benchlib import write_result  # noqa: E402
from bench import data, models as bench_models  # noqa: E402
from bench.dryrun import seconds_per_pass  # noqa: E402
from common.machine import cpu_share, usable_cpus  # noqa: E402
from dryrun_estimate import plan_estimates  # noqa: E402

LOAD_JOB = """
import torch
from zoo.mini import build_resnet
from zoo.specs import InputSpec
net = build_resnet(InputSpec("load", 1, 28, 28, 10, (0.5,), (0.5,)))
opt = torch.optim.Adam(net.parameters())
x, y = torch.rand(128, 1, 28, 28), torch.randint(0, 10, (128,))
while True:
    opt.zero_grad()
    torch.nn.functional.cross_entropy(net(x), y).backward()
    opt.step()
"""


def estimate(options: dict) -> tuple[float, bool]:
    """The dry run's total estimate in seconds and whether its plan says the machine was busy."""
    plan = bench.run(**options, dry_run=True, log=None).plan
    return round(sum(plan_estimates(plan).values()), 2), "machine was busy" in plan


def measure(options: dict, model, x, y, repeats: int) -> dict:
    """Estimates, busy notes and CPU shares of `repeats` dry runs, with the 1-minute load average."""
    runs = [estimate(options) for _ in range(repeats)]
    shares = [round(cpu_share(lambda: seconds_per_pass(model, x, y))[1], 2) for _ in range(repeats)]
    return {"estimate_seconds": [s for s, _ in runs], "busy_note": [b for _, b in runs],
            "cpu_share": shares, "load_1min": round(os.getloadavg()[0], 2)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--attacks", default="pgd")
    p.add_argument("--models", default="mini:resnet")
    p.add_argument("--n", type=int, default=10)
    p.add_argument("--repeats", type=int, default=3, help="dry runs per condition")
    p.add_argument("--warmup", type=float, default=10.0, help="seconds a load job runs before measuring")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "dryrun_load.json"))
    a = p.parse_args()
    options = {"attacks": a.attacks.split(","), "models": a.models.split(","), "n": a.n}
    cpus = usable_cpus()
    ds = data.load_dataset("fashion-mnist")
    model = bench_models.load_models([options["models"][0]], ds, torch.device("cpu"))[options["models"][0]]
    x, y = ds.test.x[:min(a.n, 64)], ds.test.y[:min(a.n, 64)]  # what the dry run measures
    conditions = {"idle": measure(options, model, x, y, a.repeats)}
    for threads in dict.fromkeys((1, cpus)):
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT)}
        job = subprocess.Popen([sys.executable, "-c", LOAD_JOB], env=env)
        try:
            time.sleep(a.warmup)
            conditions[f"beside_{threads}_thread_job"] = measure(options, model, x, y, a.repeats)
        finally:
            job.kill()
            job.wait()
    idle = max(conditions["idle"]["estimate_seconds"])
    write_result({
        "benchmark": "dryrun_load", "options": options, "cpus": cpus, "torch_threads": torch.get_num_threads(),
        "load_job": "a mini ResNet training on random data with N torch threads",
        "conditions": conditions,
        "estimate_over_idle_max": {k: round(max(v["estimate_seconds"]) / idle, 1) for k, v in conditions.items()},
    }, a.out)


if __name__ == "__main__":
    main()
