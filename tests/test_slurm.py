"""The SLURM array script (configs/slurm/bench-array.sbatch), run as its array tasks would run it
(outside SLURM it runs one shard directly): two shards into one run folder, then `bench merge`,
give the unsharded run's results.csv byte for byte."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GRID = "--dataset synthetic --models mini:resnet,mini:vgg --attacks fgsm,pgd --n 100 --n-fit 50 --eps 0.1"


@pytest.mark.slow  # about 25 s: three bench runs and a merge in subprocesses
def test_array_shards_then_merge_equal_one_local_run(tmp_path, zoo_cache):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_CACHE": str(zoo_cache), "BENCH_PDF": "0",
           "PYTHON": sys.executable, "CONFIG": str(tmp_path / "none.toml"), "OUTPUT": str(tmp_path / "runs"),
           "RUN_ID": "array", "BENCH_ARGS": GRID, "SLURM_ARRAY_TASK_COUNT": "2"}
    env.pop("SLURM_JOB_ID", None)
    (tmp_path / "none.toml").write_text("")  # the grid comes from BENCH_ARGS
    script = ROOT / "configs" / "slurm" / "bench-array.sbatch"
    for task in ("1", "2"):
        proc = subprocess.run(["bash", str(script)], env={**env, "SLURM_ARRAY_TASK_ID": task}, cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert f"shard {task}/2 done" in proc.stderr
    merge = subprocess.run(["bash", str(ROOT / "configs" / "slurm" / "merge.sbatch")], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
    assert merge.returncode == 0 and "8 of 8 cells" in merge.stderr, merge.stderr[-2000:]
    local = subprocess.run([sys.executable, "-m", "bench", "run", *GRID.split(), "--output", str(tmp_path / "runs"),
                            "--run-id", "local"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert local.returncode == 0, local.stderr[-2000:]
    runs = tmp_path / "runs"
    assert (runs / "array" / "results.csv").read_bytes() == (runs / "local" / "results.csv").read_bytes()
