"""`bench list runs`: each run folder once, newest first, with its grid and a status that says what is
missing and which command finishes it."""
from __future__ import annotations

import os
import shutil
import time

import pytest

from bench.cli import main
from conftest import cli_imports_torch
from bench.runlist import find_runs

GRID = ["run", "--dataset", "synthetic", "--n", "30", "--n-fit", "20", "--models", "mini:vgg,mini:resnet",
        "--attacks", "fgsm,pgd[steps=2]", "--mode", "untargeted"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, zoo_cache):
    """A complete run, a copy missing one cell after a finished invocation, a copy killed before its
    manifest, half of a sharded grid, and a folder that is not a run."""
    out = tmp_path_factory.mktemp("runs")
    common = ["--cache-dir", str(zoo_cache), "--output", str(out)]
    assert main(GRID + common + ["--run-id", "done"]) == 0
    assert main(GRID + common + ["--run-id", "sharded", "--shard", "1/2"]) == 0
    for name in ("missing", "killed"):
        shutil.copytree(out / "done", out / name)
        next((out / name / "cells").glob("*.json")).unlink()
    (out / "killed" / "manifest.json").unlink()
    (out / "notes").mkdir()
    now = time.time()
    for age, name in enumerate(("killed", "missing", "sharded", "done")):  # killed is the newest
        for p in (out / name).glob("*.json"):
            os.utime(p, (now - 60 * age,) * 2)
    return out


def test_each_run_once_newest_first_with_its_status(runs, capsys):
    assert main(["list", "runs", "--output", str(runs)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["run", "when", "dataset"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert [line.split()[0] for line in lines[1:]] == ["killed", "missing", "sharded", "done"]  # no latest, no notes
    assert rows["done"].rstrip().endswith("complete") and " 4/4 " in rows["done"]
    assert " 3/4 " in rows["missing"] and "1 missing (bench run --run-id resumes)" in rows["missing"]
    assert "1 missing, running or stopped" in rows["killed"]
    assert " 2/4 " in rows["sharded"] and "2 missing" in rows["sharded"]
    assert "synthetic  mini:vgg,mini:resnet  fgsm,pgd[steps=2]  linf 0.1" in rows["done"]


def test_a_finished_sharded_grid_waits_for_merge(runs, zoo_cache):
    assert main(GRID + ["--cache-dir", str(zoo_cache), "--output", str(runs), "--run-id", "sharded",
                        "--shard", "2/2"]) == 0
    status = {r.path.name: r.status for r in find_runs(runs)}
    assert status["sharded"] == "complete, not merged (bench merge)"
    assert main(["merge", str(runs / "sharded")]) == 0
    assert {r.path.name: r.status for r in find_runs(runs)}["sharded"] == "complete"


def test_no_runs_and_no_folder(tmp_path, capsys):
    assert main(["list", "runs", "--output", str(tmp_path)]) == 0
    assert "no run folders in" in capsys.readouterr().out
    assert main(["list", "runs", "--output", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "does not exist; pass the --output folder" in err


def test_list_runs_answers_without_torch(runs):
    assert not cli_imports_torch(["list", "runs", "--output", str(runs)])
