"""Runs you can trust: SIGKILL at any moment then resume, byte-identical reruns, shards that merge
into the unsharded table, a run folder that refuses another config, corrupt caches rebuilt."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.cli import main

ROOT = Path(__file__).resolve().parents[1]
# 3 attacks (one learned) x 2 sources x 2 modes = 12 cells, each a fraction of a second
CONFIG = """dataset = "synthetic"
models = ["mini:resnet", "mini:vgg"]
attacks = ["fgsm", {name = "pgd", steps = 5}, {name = "class_uap", steps = 15}]
eps = ["8/255"]
n = 120
n_fit = 64
batch_size = 60
"""
CELLS = 12


@pytest.fixture()
def config(tmp_path) -> Path:
    p = tmp_path / "grid.toml"
    p.write_text(CONFIG)
    return p


@pytest.fixture()
def private_cache(tmp_path, zoo_cache) -> Path:
    """The session's trained mini models without any fitted attack: every fit happens in this test."""
    cache = tmp_path / "cache"
    shutil.copytree(zoo_cache, cache, ignore=shutil.ignore_patterns("fitted"))
    return cache


def _bench(args, cache: Path, cwd: Path, env_extra=None, wait=True):
    env = {**os.environ, "BENCH_CACHE": str(cache), "PYTHONPATH": str(ROOT), **(env_extra or {})}
    cmd = [sys.executable, "-m", "bench", *args]
    if not wait:
        return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _results(run_dir: Path) -> bytes:
    return (run_dir / "results.csv").read_bytes()


@pytest.mark.slow  # subprocess runs of the real CLI (the fast suite stays under 5 min)
def test_sigkill_at_several_points_then_resume_gives_the_uninterrupted_table(tmp_path, config, private_cache):
    ref = _bench(["run", "--config", str(config), "--output", "ref", "--run-id", "r"], private_cache, tmp_path)
    assert ref.returncode == 0, ref.stderr[-2000:]
    expected = _results(tmp_path / "ref" / "r")
    assert expected.count(b"\n") == CELLS * 2 + 1  # one row per target model, plus the header

    # killed by itself right after storing cell k (exact points), then killed from outside mid-cell
    for k in (1, 7):
        run = ["run", "--config", str(config), "--output", "out", "--run-id", f"k{k}"]
        died = _bench(run, private_cache, tmp_path, {"BENCH_FAULT_AFTER_CELLS": str(k)})
        assert died.returncode == -signal.SIGKILL
        cells = sorted((tmp_path / "out" / f"k{k}" / "cells").glob("*.json"))
        assert len(cells) == k  # nothing lost, nothing extra
        resumed = _bench(run, private_cache, tmp_path)
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        assert f"{CELLS - k} cells computed, {k} already stored" in resumed.stderr
        assert _results(tmp_path / "out" / f"k{k}") == expected

    run = ["run", "--config", str(config), "--output", "out", "--run-id", "ext"]
    proc = _bench(run, private_cache, tmp_path, wait=False)
    cells_dir = tmp_path / "out" / "ext" / "cells"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(cells_dir.glob("*.json"))) < 3 and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(0.1)  # now in the middle of some cell
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    stored = len(list(cells_dir.glob("*.json")))
    assert 3 <= stored < CELLS
    resumed = _bench(run, private_cache, tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert _results(tmp_path / "out" / "ext") == expected
    assert not [p for p in cells_dir.iterdir() if not p.name.endswith(".json") and not p.name.startswith(".")]


@pytest.mark.slow  # 39 s of CLI runs; the fast suite stays under 5 min on 2 cores (CI runs both)
def test_same_seed_gives_byte_identical_results_and_shards_merge_to_the_same(tmp_path, config, private_cache,
                                                                            zoo_cache, capsys):
    def run(cache, *extra):
        assert main(["run", "--config", str(config), "--output", str(tmp_path / "o"), "--cache-dir", str(cache),
                     *extra]) == 0

    run(private_cache, "--run-id", "a")
    other = tmp_path / "cache2"  # a second cache: the fits are recomputed, not reused
    shutil.copytree(zoo_cache, other, ignore=shutil.ignore_patterns("fitted"))
    run(other, "--run-id", "b")
    a = _results(tmp_path / "o" / "a")
    assert a == _results(tmp_path / "o" / "b")

    # shards into one folder, then merge
    run(private_cache, "--run-id", "s", "--shard", "1/2")
    assert not (tmp_path / "o" / "s" / "results.csv").exists()
    assert main(["merge", str(tmp_path / "o" / "s")]) == 2  # shard 2 missing: refused, says so
    assert "cells are missing" in capsys.readouterr().err
    run(private_cache, "--run-id", "s", "--shard", "2/2")
    second = tmp_path / "o" / "s" / "manifest.shard-2-of-2.json"  # as if shard 2 ran with 12 threads (2 -> 12)
    second.write_text(second.read_text().replace('"torch_threads": ', '"torch_threads": 1', 1))
    assert main(["merge", str(tmp_path / "o" / "s")]) == 0
    assert "the shards ran on 2 machine setups" in capsys.readouterr().err  # their floats may differ
    assert _results(tmp_path / "o" / "s") == a

    # shards in their own folders, merged into the first
    run(private_cache, "--run-id", "p1", "--shard", "1/3")
    run(private_cache, "--run-id", "p2", "--shard", "2/3")
    run(private_cache, "--run-id", "p3", "--shard", "3/3")
    cells = [len(list((tmp_path / "o" / p / "cells").glob("*.json"))) for p in ("p1", "p2", "p3")]
    assert sum(cells) == CELLS and all(c > 0 for c in cells)  # disjoint and complete
    assert main(["merge", str(tmp_path / "o" / "p1"), str(tmp_path / "o" / "p2"), str(tmp_path / "o" / "p3")]) == 0
    assert _results(tmp_path / "o" / "p1") == a


def test_run_folder_refuses_another_config_and_fresh_starts_over(tmp_path, config, private_cache, capsys):
    base = ["run", "--config", str(config), "--output", str(tmp_path), "--cache-dir", str(private_cache),
            "--run-id", "x"]
    assert main(base + ["--attacks", "fgsm"]) == 0
    capsys.readouterr()
    assert main(base + ["--attacks", "fgsm", "--seed", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "holds another configuration (seed: stored 0, now 1)" in err
    assert "--fresh" in err
    assert main(base + ["--attacks", "fgsm", "--seed", "1", "--fresh"]) == 0
    assert "4 cells computed, 0 already stored" in capsys.readouterr().err


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path, config, private_cache, capsys):
    args = ["run", "--config", str(config), "--output", str(tmp_path / "o"), "--cache-dir", str(private_cache),
            "--dry-run"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"6 groups, {CELLS} cells: 0 stored, {CELLS} to compute" in out and "estimated compute" in out
    assert not (tmp_path / "o").exists()
    assert main(args + ["--shard", "2/2"]) == 0
    assert "3 groups, 6 cells (shard 2/2 of 6 groups)" in capsys.readouterr().out


def test_a_cached_weight_file_corrupted_by_one_byte_is_detected_on_the_next_run(tmp_path, private_cache, capsys):
    weights = sorted((private_cache).rglob("mini-vgg*.safetensors")) or sorted(private_cache.rglob("*vgg*.safetensors"))
    assert weights, list(private_cache.rglob("*"))
    data = bytearray(weights[0].read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights[0].write_bytes(bytes(data))
    assert main(["run", "--dataset", "synthetic", "--models", "mini:vgg", "--attacks", "fgsm", "--n", "50",
                 "--output", str(tmp_path), "--cache-dir", str(private_cache)]) == 0
    err = capsys.readouterr().err
    assert "training mini:vgg" in err  # detected (sha256 mismatch), rebuilt, never loaded


def test_a_corrupt_fitted_attack_is_refitted(tmp_path, private_cache, capsys):
    args = ["run", "--dataset", "synthetic", "--models", "mini:vgg", "--attacks", "class_uap[steps=30]", "--n", "50",
            "--n-fit", "40", "--mode", "untargeted", "--output", str(tmp_path), "--cache-dir", str(private_cache)]
    assert main(args + ["--run-id", "one"]) == 0
    fitted = sorted((private_cache / "fitted").glob("*.safetensors"))
    assert len(fitted) == 1
    fitted[0].write_bytes(fitted[0].read_bytes()[:-7])  # truncated
    capsys.readouterr()
    assert main(args + ["--run-id", "two"]) == 0
    assert "refitting class_uap" in capsys.readouterr().err
    assert _results(tmp_path / "one") == _results(tmp_path / "two")


def test_cells_of_an_older_attack_version_are_recomputed_and_left_out(tmp_path, private_cache, capsys, monkeypatch):
    import attacks.torchattacks_adapter as ta

    args = ["run", "--dataset", "synthetic", "--models", "mini:vgg", "--attacks", "fgsm,pgd", "--n", "50",
            "--output", str(tmp_path), "--cache-dir", str(private_cache), "--run-id", "v"]
    assert main(args) == 0
    before = _results(tmp_path / "v")
    monkeypatch.setattr(ta.PGD, "version", ta.PGD.version + 1)  # a code change that alters PGD's results
    capsys.readouterr()
    assert main(args) == 0
    assert "2 cells computed, 2 already stored" in capsys.readouterr().err  # only pgd's two cells
    assert len(list((tmp_path / "v" / "cells").glob("*.json"))) == 6  # the old ones stay on disk...
    import io

    import pandas as pd

    old, new = pd.read_csv(io.BytesIO(before)), pd.read_csv(tmp_path / "v" / "results.csv")
    assert len(new) == len(old) == 4  # ...and are not rows of the run: no duplicate pgd rows
    pd.testing.assert_frame_equal(new[new.attack == "fgsm"], old[old.attack == "fgsm"])
