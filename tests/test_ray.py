"""`bench run --executor ray` (issue 8) on a local Ray instance: the same results.csv as the local
executor, a worker that dies is retried, a group that keeps failing is reported while the rest of
the grid completes, and the next run computes only the missing cells. Needs the `ray` extra."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ray")

ROOT = Path(__file__).resolve().parents[1]
GRID = ["--dataset", "synthetic", "--models", "mini:resnet,mini:vgg", "--attacks", "fgsm,pgd,uap",
        "--n", "100", "--n-fit", "50", "--eps", "0.1"]


def bench(args: list[str], out: Path, cache: Path, **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_CACHE": str(cache), "BENCH_PDF": "0",
                "RAY_AUTH_MODE": "disabled", **env}
    return subprocess.run([sys.executable, "-m", "bench", "run", *GRID, *args, "--output", str(out)], cwd=ROOT,
                          env=full_env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow  # about 40 s: two Ray-free runs and one Ray run with a local instance
def test_ray_executor_retries_reports_and_matches_the_local_results(tmp_path, zoo_cache):
    local = bench(["--run-id", "local"], tmp_path, zoo_cache)
    assert local.returncode == 0, local.stderr[-2000:]

    # fgsm's worker dies on its first attempt (retried); pgd raises on every attempt (reported)
    faults = tmp_path / "faults"
    faults.mkdir()
    ray = bench(["--run-id", "ray", "--executor", "ray"], tmp_path, zoo_cache,
                BENCH_FAULT_TASK="fgsm:once,pgd:always", BENCH_FAULT_DIR=str(faults))
    assert ray.returncode == 1, ray.stderr[-3000:]
    assert "ray: local instance" in ray.stderr
    assert len(list(faults.iterdir())) == 2  # both fgsm groups lost a worker once
    assert "8 cells computed, 0 already stored" in ray.stderr
    failed = [line for line in ray.stderr.splitlines() if line.startswith("FAILED cell")]
    assert len(failed) == 4 and all("pgd" in line and "RuntimeError after 2 retries" in line for line in failed)
    assert "injected fault" in failed[0] and "Traceback" not in "\n".join(failed)
    # the tasks ran with one thread each (what Ray gave them), not the driver's count: their cells say so,
    # and the page names that setup whenever the driver's (the manifest's device) is another
    import json

    import pandas as pd

    from common.text import machine_text

    workers = pd.read_csv(tmp_path / "ray" / "timings.csv").machine
    assert len(workers) == 8 and workers.str.contains(" 1 torch thread,").all()  # one row per cell
    driver = machine_text(json.loads((tmp_path / "ray" / "manifest.json").read_text())["device"])
    named = "cells computed on: cpu, 1 torch thread" in (tmp_path / "ray" / "index.html").read_text()
    assert named == (driver != workers[0])

    # the next run (local, no faults) computes only pgd's 4 cells; the result equals the local run's
    again = bench(["--run-id", "ray"], tmp_path, zoo_cache)
    assert again.returncode == 0 and "4 cells computed, 8 already stored" in again.stderr, again.stderr[-2000:]
    assert (tmp_path / "ray" / "results.csv").read_bytes() == (tmp_path / "local" / "results.csv").read_bytes()
    # its cells came from one-thread Ray workers and the driver's threads: timings.csv says which, and the
    # page counts both when the driver had more than one thread
    machines = pd.read_csv(tmp_path / "ray" / "timings.csv").machine
    assert (machines.str.contains(" 1 torch thread,")).sum() == 8  # fgsm's 4 cells and uap's 4 on the workers
    assert ("cells computed on: " in (tmp_path / "ray" / "index.html").read_text()) == (machines.nunique() > 1)


def test_bad_ray_addresses_are_one_line_before_any_work(tmp_path, zoo_cache, capsys):
    """In process (a second interpreter cost 10 s): an address nothing answers at, and a malformed one
    (which needs no Ray to refuse), are each one line and no run folder."""
    from bench.cli import main

    for address, message in (("127.0.0.1:1", "cannot reach the Ray cluster at 127.0.0.1:1"),
                             ("head-node", "is not host:port")):
        code = main(["run", *GRID, "--run-id", "x", "--executor", "ray", "--ray-address", address,
                     "--output", str(tmp_path), "--cache-dir", str(zoo_cache)])
        lines = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and message in lines[0], lines
        assert not (tmp_path / "x").exists()
