"""The quickstart grid with the local executor vs Ray (a local instance, one CPU per task), side by
side and interleaved, from a warm cache (zoo and VizPert fits cached, so the grid itself is timed);
plus Ray's own costs: starting a local instance and the round trip of an empty task.

    .venv/bin/python benchmarks/executors.py [--repeats 2] [--out benchmarks/results/executors.json]

Writes JSON; asserts nothing. Needs the `ray` extra.
"""
from __future__ import annotations

import argparse
import filecmp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from benchlib import write_result  # noqa: E402


def bench_run(executor: str, out: Path, run_id: str) -> float:
    """Wall seconds of the quickstart `bench run` with `executor` (a fresh run folder)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bench", "run", "--executor", executor, "--output", str(out),
                           "--run-id", run_id], cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"bench run --executor {executor} failed:\n{proc.stderr[-2000:]}")
    return time.perf_counter() - t0


def ray_costs(tasks: int = 200) -> dict:
    import ray

    t0 = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False)
    init = time.perf_counter() - t0

    @ray.remote(num_cpus=1)
    def noop(i: int) -> int:
        return i

    ray.get([noop.remote(i) for i in range(4)])  # workers started
    t0 = time.perf_counter()
    ray.get([noop.remote(i) for i in range(tasks)])
    batch = (time.perf_counter() - t0) / tasks
    t0 = time.perf_counter()
    for i in range(50):
        ray.get(noop.remote(i))
    serial = (time.perf_counter() - t0) / 50
    ray.shutdown()
    return {"init_seconds": round(init, 2), "task_seconds_submitted_together": round(batch, 5),
            "task_seconds_one_at_a_time": round(serial, 5)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "executors.json"))
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        bench_run("local", out, "warmup")  # zoo and fits cached
        times: dict[str, list[float]] = {"local": [], "ray": []}
        for r in range(a.repeats):
            for ex in times:
                times[ex].append(round(bench_run(ex, out, f"{ex}-{r}"), 2))
        same = all(filecmp.cmp(out / f"local-{r}" / "results.csv", out / f"ray-{r}" / "results.csv", shallow=False)
                   for r in range(a.repeats))
    med = {k: statistics.median(v) for k, v in times.items()}
    write_result({
        "benchmark": "executors", "grid": "quickstart (18 cells, warm cache)", "cpus": os.cpu_count(),
        "wall_seconds": times, "median_seconds": med, "ray_vs_local": round(med["ray"] / med["local"], 2),
        "results_csv_identical": same, "ray": ray_costs(),
    }, a.out)


if __name__ == "__main__":
    main()
