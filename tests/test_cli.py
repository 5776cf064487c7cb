"""The `bench` command as a user meets it: clear one-line errors (exit 2) and a complete run folder."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench.cli import main
from conftest import cli_imports_torch
from bench.config import AttackSpec, RunConfig

ROOT = Path(__file__).resolve().parents[1]
# only a hang fails a subprocess run, never a slow machine: a 2-core CI box that also runs a grid
# once needed more than 300 s for the end-to-end run below (it takes about 30 s alone)
E2E_TIMEOUT = 1800


def _run_cli(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


BAD_INPUTS = [
    (["run", "--attacks", "pgf"], "did you mean 'pgd'"),
    (["run", "--attacks", "deepfool"], "did you mean 'torchattacks:DeepFool' or 'foolbox:L2DeepFoolAttack'"),
    (["run", "--models", "mini:resnt"], "did you mean 'mini:resnet'"),
    (["run", "--dataset", "fashion_mnist"], "did you mean 'fashion-mnist'"),
    (["run", "--eps", "0"], "out of range"),
    (["run", "--eps", "-0.1"], "out of range"),
    (["run", "--eps", "1.5"], "0 < eps < 1"),
    (["run", "--eps", "abc"], "8/255"),
    (["run", "--eps", ","], "eps is empty"),
    (["run", "--eps", "8/255,0.05,8/255"], "eps 8/255,0.05,8/255 repeats a budget; list each eps once"),
    (["run", "--run-id", "../elsewhere", "--dry-run"], "run id '../elsewhere' is not a folder name"),
    (["run", "--run-id", "latest", "--output", "{tmp}/runs", "--dataset", "synthetic", "--dry-run"],
     "--run-id latest resumes the newest run, but"),
    (["run", "--n", "0"], "n (--n) must be a positive"),
    (["run", "--n-fit", "-5"], "(--n-fit) must be a positive"),
    (["run", "--batch-size", "0"], "(--batch-size) must be a positive"),
    (["run", "--models", ""], "models is empty"),
    (["run", "--device", "tpu"], "use auto, cpu, cuda"),
    (["run", "--dataset", "synthetic", "--n", "5000"], "larger than"),
    (["run", "--data-dir", "/nonexistent/fmnist"], "no Fashion-MNIST IDX files in --data-dir"),
    (["run", "--attacks", "foolbox:LinfPGD", "--norm", "l2", "--eps", "1"], "not l2; pass --norm linf, or use foolbox:L2PGD"),
    (["run", "--attacks", "foolbox:L2DeepFoolAttack"], "works in the L2 norm, not linf; pass --norm l2, or use "
     "foolbox:LinfDeepFoolAttack"),
    (["run", "--attacks", "foolbox:L1PGD"], "L1 norm, which this benchmark's budgets are not"),
    (["run", "--attacks", "torchattacks:PGD", "--norm", "l2", "--eps", "1"], "torchattacks:PGD works in the Linf norm, "
     "not l2; pass --norm linf, or use torchattacks:PGDL2"),
    (["run", "--attacks", "torchattacks:MIFGSM", "--norm", "l2", "--eps", "1"], "or pick a torchattacks class for l2"),
    (["report", "/nonexistent/run"], "run folder /nonexistent/run does not exist; `bench list runs"),
    (["zoo", "train", "--models", "timm:resnet18"], "not a mini-zoo model"),
    (["run", "--attacks", "pgd,pgd"], "listed twice"),
    (["run", "--attacks", "pgd[stepz=3]"], "has no parameter 'stepz'"),
    (["run", "--attacks", "pgd[steps=abc]"], "steps must be a positive integer, got 'abc'"),
    (["run", "--attacks", "pgd[steps]"], "'steps' is not key=value"),
    (["run", "--attacks", "pgd[steps=3,steps=4]"], "gives 'steps' twice"),
    (["run", "--attacks", "pgd[steps=3"], "unmatched brackets"),
    (["run", "--attacks", "pgd(steps=3, alpha=0.01)"], "parameters go in brackets: 'pgd[steps=3, alpha=0.01]'"),
    (["run", "--config", "{tmp}/cfg.toml"], "write attacks = [\"fgsm\", \"pgd\"]", "attacks = 'fgsm,pgd'\n"),
    (["run", "--attacks", "pgd[steps=3],pgd[steps=3]"], "listed twice"),
    (["run", "--models", "mini:vgg,mini:vgg"], "listed twice"),
    (["run", "--attacks", "torchattacks:PGDD"], "did you mean"),
    (["run", "--attacks", "torchattacks:MultiAttack"], "is a torchattacks wrapper"),
    (["run", "--attacks", "foolbox:VirtualAdversarialAttack", "--norm", "l2", "--eps", "1"],
     "give it as 'foolbox:VirtualAdversarialAttack[steps=...]'"),
    (["run", "--models", "timm:resnet5O"], "unknown timm model"),
    (["run", "--shard", "0/2"], "is not i/n"),
    (["run", "--shard", "3/2"], "is not i/n"),
    (["run", "--shard", "half"], "is not i/n"),
    (["run", "--norm", "l2", "--eps", "0"], "out of range"),
    (["run", "--config", "{tmp}/missing.toml"], "does not exist"),
    (["run", "--config", "{tmp}"], "cannot read config file"),
    (["run", "--config", "{tmp}/cfg.toml"], "not valid TOML", "eps = [0.1\n"),
    (["run", "--config", "{tmp}/cfg.toml"], "did you mean 'attacks'", "atacks = ['pgd']\n"),
    (["run", "--config", "{tmp}/cfg.toml"], "key 'n' must be an integer", "n = '100'\n"),
    (["run", "--config", "{tmp}/cfg.toml"], "has no parameter 'stepz'", "attacks = [{name = 'pgd', stepz = 3}]\n"),
    (["run", "--config", "{tmp}/cfg.toml"], "steps must be a positive integer", "attacks = [{name = 'pgd', steps = 0}]\n"),
    (["run", "--config", "{tmp}/cfg.toml"], "condition must be one of", "attacks = [{name = 'vizpert', condition = 'imag'}]\n"),
    (["run", "--config", "{tmp}/cfg.toml"], "must be an attack name or a table", "attacks = [3]\n"),
    (["run", "--data-dir", "{tmp}/idx"], "corrupt IDX file", "CORRUPT_IDX"),
    (["run", "--dataset", "synthetic", "--models", "timm:vit_tiny_patch16_224", "--attacks", "fgsm"],
     "cannot take synthetic's 1x16x16 images"),
    (["merge", "{tmp}"], "is not a run folder"),
    (["run", "--format", "html,pfd"], "unknown report format 'pfd' (did you mean 'pdf'?)"),
    (["run", "--format", ","], "format is empty"),
    (["run", "--config", "{tmp}/cfg.toml"], "unknown report format 'latx' (did you mean 'latex'?)", "format = 'latx'\n"),
    (["run", "--dataset", "imagefolder:/nonexistent/val"], "is not a folder"),
    (["run", "--dataset", "imagefolder:{tmp}"], "no class sub-folders"),
    (["run", "--checkpoint", "timm:resnet18"], "is not MODEL=PATH"),
    (["run", "--checkpoint", "timm:resnet18=w.safetensors"], "not in --models"),
    (["run", "--dataset", "synthetic", "--models", "timm:resnet18", "--checkpoint", "timm:resnet18={tmp}/w.pth"],
     "does not exist"),
    (["run", "--checkpoint", "mini:vgg=w.pth", "--models", "mini:vgg", "--dataset", "synthetic"],
     "--checkpoint is for timm: models"),
    (["run", "--dataset", "synthetic", "--models", "timm:resnet18", "--pretrained"], "predicts 1000 classes"),
    (["run", "--workers", "-1"], "(--workers) must be 0 or more"),
    (["run", "--ray-address", "ray://head:10001"], "--ray-address is for --executor ray"),
    (["run", "--config", "{tmp}/cfg.toml"], "amp 'fp8' is not one of", "amp = 'fp8'\n"),
    (["run", "--config", "{tmp}/cfg.toml"], "mode 'Targeted' (did you mean 'targeted'?) is not one of",
     "mode = 'Targeted'\n"),
    (["run", "--config", "{tmp}/cfg.toml"], "must be a file path", "[checkpoints]\n'timm:vgg16' = 3\n"),
    (["run", "--attacks", "torchattacks:DeepFool", "--mode", "targeted"], "no attack has cells in --mode targeted: "
     "torchattacks:DeepFool is untargeted only, so --mode targeted leaves it out (--mode untargeted or both runs it)"),
]


def _bad_input_id(case) -> str:
    return (" ".join(case[0][1:])[:40] + (" " + case[2][:30] if len(case) > 2 else "")).replace("{tmp}", "")


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[_bad_input_id(c) for c in BAD_INPUTS])
def test_bad_input_is_one_line_exit_2(case, capsys, tmp_path, monkeypatch, zoo_cache):
    """The catalogue of bad inputs (README, troubleshooting): each one line, exit 2, nothing written."""
    args, needle, content = case[0], case[1], (case[2] if len(case) > 2 else None)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BENCH_CACHE", str(zoo_cache))
    if content == "CORRUPT_IDX":
        from tests.test_data import fake_fashion_mnist

        (tmp_path / "idx").mkdir()
        fake_fashion_mnist(tmp_path / "idx")
        (tmp_path / "idx" / "train-images-idx3-ubyte.gz").write_bytes(b"not gzip at all")
    elif content is not None:
        (tmp_path / "cfg.toml").write_text(content)
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code, out, err = _run_cli(args, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert needle in lines[0]
    assert "Traceback" not in err
    assert not (tmp_path / "reports").exists()  # nothing written half-way


@pytest.mark.parametrize("args,needle", [
    (["run", "--n", "x"], "invalid int value"), (["run", "--norm", "l3"], "invalid choice"),
    (["list", "things"], "invalid choice"),
    # a misspelt choice: the close ones (argparse 3.11 names them all, guesses none)
    (["list", "torchatacks"], "did you mean 'torchattacks'"), (["run", "--norm", "L2"], "did you mean 'l2'"),
    (["lst"], "did you mean 'list'"),
    # a command looked for under another one
    (["zoo", "list"], "invalid choice: 'list' (choose from 'train'); that is `bench list models`"),
    (["zoo", "status"], "invalid choice: 'status' (choose from 'train'); that is `bench list models`"),
    # an unknown flag: the one meant, by another tool's name for it or by spelling
    (["run", "--targeted"], "unrecognized arguments: --targeted (did you mean '--mode targeted'?); see `bench run --help`"),
    (["run", "--epsilon", "0.1"], "(did you mean '--eps'?)"),
    (["run", "--zoo-sed", "3"], "(did you mean '--zoo-seed'?)"),
    (["run", "--bogus"], "unrecognized arguments: --bogus; see"),  # no far-fetched guess
    (["report", "x", "--formt=csv"], "(did you mean '--format'?); see `bench report --help`"),
    # the help of the subcommand that was run, not its parent's
    (["zoo", "train", "--dry-run"], "unrecognized arguments: --dry-run; see `bench zoo train --help`"),
    # no flag taken from its first letters (`--al` once pruned every fit as `--all`); the flags it starts
    (["cache", "prune", "--al"],
     "unrecognized arguments: --al (did you mean '--all'?); see `bench cache prune --help`"),
    (["run", "--attack", "pgd"], "(did you mean '--attacks'?)"),
    (["run", "--f"], "(did you mean '--fresh' or '--format'?)"),
    # a folder given where a flag names it
    (["list", "runs", str(ROOT / "tests")], f"(did you mean '--output {ROOT / 'tests'}'?)"),
])
def test_argparse_errors_are_one_line_too(args, needle, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "--help" in err[0] and needle in err[0], err


def test_run_help_lists_each_option_under_its_section(capsys):
    """Every run option is a flag of `bench run --help`, under the section its declaration names."""
    from bench.config import FILES, GRID, MODELS, WHERE, iter_options

    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = capsys.readouterr().out
    starts = {g: text.index(f"\n{g}:\n") for g in (GRID, MODELS, FILES, WHERE)}
    ends = {g: min([i for i in starts.values() if i > start] + [len(text)]) for g, start in starts.items()}
    for name, meta, _ in iter_options():
        flag = "--checkpoint" if name == "checkpoints" else "--" + name.replace("_", "-")
        g = meta["group"]
        assert re.search(rf"\n  {flag}[ ,\n]", text[starts[g]:ends[g]]), (flag, g)


def test_help_and_option_errors_answer_without_importing_torch(tmp_path):
    """`bench --help`, argparse errors and bad option values (flags or TOML) are answered before torch,
    timm or the attack libraries are imported (about 10 s on two cores), still as one line, exit 2."""
    (tmp_path / "cfg.toml").write_text("epz = 0.1\n")
    script = f"""
import contextlib, io, sys
from bench.cli import main
HEAVY = ("torch", "timm", "torchattacks", "foolbox", "pandas", "matplotlib", "attacks", "zoo", "reports")
for args in (["--help"], ["run", "--help"], ["run", "--epss", "1"], ["run", "--eps", "abc"], ["run", "--n", "0"],
             ["run", "--shard", "5/4"], ["run", "--executor", "ray", "--ray-address", "head-node"],
             ["run", "--config", {str(tmp_path / "cfg.toml")!r}]):
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as exc:
            code = exc.code
    print(args[-1], code, len(err.getvalue().strip().splitlines()), [m for m in HEAVY if m in sys.modules])
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    answers = [line.split(" ", 1)[1] for line in proc.stdout.strip().splitlines()]
    assert answers == ["0 0 []"] * 2 + ["2 1 []"] * 6, proc.stdout


@pytest.mark.parametrize("how", ["file-in-the-way", "read-only"])
def test_unwritable_output_dir(capsys, tmp_path, zoo_cache, how):
    if how == "read-only":
        blocked = tmp_path / "ro"
        blocked.mkdir()
        blocked.chmod(0o500)
        if os.access(blocked, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root); the file-in-the-way case covers it")
    else:
        blocked = tmp_path / "a-file"
        blocked.write_text("")
    code, _, err = _run_cli(["run", "--dataset", "synthetic", "--cache-dir", str(zoo_cache),
                             "--output", str(blocked / "runs")], capsys)
    assert code == 2 and "writable --output" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("what,needle", [("attacks", "pgd"), ("models", "mini:densenet"), ("datasets", "fashion-mnist"),
                                         ("torchattacks", "torchattacks:PGDL2  "), ("foolbox", "classes run; --attacks")])
def test_list(what, needle, capsys):
    code, out, _ = _run_cli(["list", what], capsys)
    assert code == 0 and needle in out
    if what == "attacks":  # how to give parameters, in a form the run accepts
        example = out.strip().splitlines()[-1].split("'")[1]
        assert RunConfig(attacks=example).attacks[1] == AttackSpec("pgd", {"steps": 20, "alpha": 2 / 255})


def test_the_output_folder_given_for_a_run_names_its_runs(tmp_path, capsys):
    """`bench report reports/runs` / `bench merge reports/runs`: the folder of runs, not a run."""
    for run in ("20261129-101010", "20261129-111111"):
        (tmp_path / run / "cells").mkdir(parents=True)
        (tmp_path / run / "cells" / "k.json").write_text("{}")
    (tmp_path / "latest").symlink_to(tmp_path / "20261129-111111")
    for command in ("report", "merge"):
        code, _, err = _run_cli([command, str(tmp_path)], capsys)
        assert code == 2 and err == (f"error: {tmp_path} holds run folders (20261129-101010, 20261129-111111); "
                                     f"pass one, e.g. {tmp_path / 'latest'}\n"), err


def test_merge_writes_the_formats_it_is_given(tmp_path, zoo_cache, capsys):
    grid = ["run", "--dataset", "synthetic", "--models", "mini:vgg", "--attacks", "fgsm,pgd[steps=2]", "--eps", "0.1",
            "--n", "20", "--mode", "untargeted", "--cache-dir", str(zoo_cache), "--output", str(tmp_path),
            "--run-id", "s"]
    for shard in ("1/2", "2/2"):
        assert main(grid + ["--shard", shard]) == 0
    capsys.readouterr()
    code, _, err = _run_cli(["merge", str(tmp_path / "s"), "--format", "html,pfd"], capsys)
    assert code == 2 and "(did you mean 'pdf'?)" in err and not (tmp_path / "s" / "manifest.json").exists()
    assert main(["merge", str(tmp_path / "s"), "--format", "markdown"]) == 0
    assert (tmp_path / "s" / "summary.md").is_file()
    assert not (tmp_path / "s" / "results.csv").exists() and not (tmp_path / "s" / "index.html").exists()


def test_debug_shows_the_traceback(capsys):
    code, _, err = _run_cli(["--debug", "run", "--attacks", "pgf"], capsys)
    assert code == 2 and "Traceback" in err


@pytest.mark.slow  # subprocess runs of the real CLI (the fast suite stays under 5 min)
def test_run_end_to_end_as_a_user(tmp_path, zoo_cache):
    """`python -m bench run` on the synthetic set: the run folder holds every promised file."""
    env = {**os.environ, "BENCH_CACHE": str(zoo_cache), "PYTHONPATH": str(ROOT)}
    # the quickstart's attacks under their own labels, with VizPert fits of 20 steps (300 by default):
    # the files are the same, the six fits take seconds instead of minutes
    (tmp_path / "run.toml").write_text('attacks = ["fgsm", "pgd", {name = "vizpert", label = "vizpert", steps = 20}]\n')
    cmd = [sys.executable, "-m", "bench", "run", "--config", "run.toml", "--dataset", "synthetic", "--n", "100",
           "--n-fit", "50", "--eps", "0.05,8/255", "--models", "mini:resnet,mini:densenet,mini:vgg",
           "--format", "csv,latex,markdown,plots,html"]  # the figures too (the tests' default leaves them out)
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=E2E_TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "## Summary" in proc.stdout and "White-box untargeted success on correctly classified images" in proc.stdout
    runs = tmp_path / "reports" / "runs"
    run_dir = (runs / "latest").resolve()
    assert run_dir.parent == runs.resolve()
    df = pd.read_csv(run_dir / "results.csv")
    assert len(df) == 3 * 2 * 3 * 2 * 3  # attacks (fgsm, pgd, vizpert) x eps x sources x modes x targets
    for stem in ("transfer_pgd_eps0.05", "transfer_fgsm_eps0.03137_targeted"):
        assert (run_dir / f"{stem}.csv").is_file() and (run_dir / f"{stem}.tex").is_file()
    for name in ("summary.csv", "summary.tex", "summary.md", "eps_threshold.csv", "eps_threshold.tex"):
        assert (run_dir / name).stat().st_size > 0
    plots = sorted((run_dir / "plots").glob("*.png"))
    names = {p.name for p in plots}
    assert {f"classviz_vizpert_linf_eps0.05_{m}.png" for m in ("mini-resnet", "mini-densenet", "mini-vgg")} <= names
    assert "examples_pgd_linf_eps0.05_mini-vgg_targeted.png" in names
    for p in plots:
        head = p.read_bytes()[:8]
        assert head == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["config"]["dataset"] == "synthetic" and manifest["seed"] == 0
    assert set(manifest["weights_sha256"]) == {"mini:resnet", "mini:densenet", "mini:vgg"}
    assert manifest["versions"]["torch"] and manifest["device"]["device"] == "cpu"
    assert manifest["wall_seconds"] > 0 and manifest["cells"]["computed"] == 36
    # where the time went: every phase in run order, fits and perturbation measured, and the parts
    # (timed inside the run) never adding up to more than the run's wall time
    phases = manifest["phase_seconds"]
    assert list(phases) == ["data", "zoo", "sanity", "fits", "perturbation", "evaluation", "reports"]
    assert phases["fits"] > 0 and phases["perturbation"] > 0 and phases["reports"] > 0
    assert sum(phases.values()) <= manifest["wall_seconds"] + 0.05
    assert "time per phase: data" in proc.stderr

    # the same command again in the same run folder computes nothing and keeps the rows
    again = subprocess.run(cmd + ["--run-id", run_dir.name], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=E2E_TIMEOUT)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "0 cells computed, 36 already stored" in again.stderr
    rerun = json.loads((run_dir / "manifest.json").read_text())["phase_seconds"]
    assert rerun["fits"] == 0 and rerun["perturbation"] == 0  # nothing fitted or perturbed again
    pd.testing.assert_frame_equal(pd.read_csv(run_dir / "results.csv"), df)
    timings = pd.read_csv(run_dir / "timings.csv")
    assert len(timings) == 36 and "fit_seconds" not in df.columns and (timings.images_per_second > 0).all()
    learned = timings.attack == "vizpert"  # only a learned fit names the setup that fitted it
    assert timings[learned].fit_machine.str.startswith("cpu, ").all() and timings[~learned].fit_machine.isna().all()


def test_report_regenerates_identical_tables(tmp_path, zoo_cache, capsys):
    code, _, _ = _run_cli(["run", "--dataset", "synthetic", "--n", "60", "--models", "mini:vgg", "--attacks", "fgsm",
                           "--cache-dir", str(zoo_cache), "--output", str(tmp_path)], capsys)
    assert code == 0
    run_dir = (tmp_path / "latest").resolve()
    before = {p.name: p.read_bytes() for p in run_dir.glob("*.csv")} | {p.name: p.read_bytes() for p in run_dir.glob("*.tex")}
    for name in before:
        (run_dir / name).unlink()
    # the formats the run wrote (conftest's $BENCH_FORMAT): report.tex lists the figures it finds in plots/
    code, out, _ = _run_cli(["report", str(run_dir), "--format", os.environ["BENCH_FORMAT"]], capsys)
    assert code == 0 and "## Summary" in out
    after = {name: (run_dir / name).read_bytes() for name in before}
    assert after == before
    # through the `latest` link, the page is titled by the run id the link names, not "latest"
    (run_dir / "index.html").unlink()
    code, _, _ = _run_cli(["report", str(tmp_path / "latest"), "--format", "html"], capsys)
    page = (run_dir / "index.html").read_text()
    assert code == 0 and f"<title>vizpert-bench run {run_dir.name}</title>" in page and "run latest" not in page
    # a run compared with itself (`latest` is the last run) is refused, not a table of zeros
    code, _, err = _run_cli(["report", str(run_dir), str(tmp_path / "latest")], capsys)
    assert code == 2 and f"are the same run folder ({run_dir.name})" in err and "\n" not in err.strip()
    # rendering reads the store and artifacts without torch (its import is about 1.5 s of `bench report`)
    assert not cli_imports_torch(["report", str(run_dir), "--format", "csv,markdown,html"])


def test_a_cell_resumed_with_another_thread_count_says_so(tmp_path, zoo_cache, capsys):
    """Each cell records the setup that computed it in timings.csv (never results.csv); a run resumed
    with another torch thread count says in its facts how many cells each setup computed."""
    import torch

    args = ["run", "--dataset", "synthetic", "--n", "40", "--models", "mini:vgg", "--attacks", "fgsm",
            "--cache-dir", str(zoo_cache), "--output", str(tmp_path), "--run-id", "r"]
    threads = torch.get_num_threads()
    assert _run_cli(args, capsys)[0] == 0
    run_dir = tmp_path / "r"
    first = pd.read_csv(run_dir / "timings.csv")
    assert first.machine.str.startswith(f"cpu, {threads} torch thread").all() and len(first) == 2
    assert "machine" not in pd.read_csv(run_dir / "results.csv").columns
    min(run_dir.glob("cells/*.json")).unlink()  # one cell lost: the next run computes it again
    torch.set_num_threads(threads + 1)
    try:
        code, out, _ = _run_cli(args, capsys)
    finally:
        torch.set_num_threads(threads)
    assert code == 0
    assert sorted(pd.read_csv(run_dir / "timings.csv").machine.str.split(",").str[1].str.strip()) == sorted(
        [f"{threads} torch thread{'s' * (threads != 1)}", f"{threads + 1} torch threads"])
    assert "cells computed on: cpu, " in (run_dir / "index.html").read_text()


def test_run_id_latest_resumes_the_newest_run_and_keeps_the_link(tmp_path, zoo_cache, capsys):
    """`--run-id latest` once resumed through the link, pointed the link at itself and ended in a
    traceback; it now names the run the link points at."""
    args = ["run", "--dataset", "synthetic", "--n", "20", "--models", "mini:vgg", "--attacks", "fgsm",
            "--mode", "untargeted", "--format", "csv", "--cache-dir", str(zoo_cache), "--output", str(tmp_path)]
    assert _run_cli(args, capsys)[0] == 0
    (run,) = [p for p in tmp_path.iterdir() if not p.is_symlink()]
    min(run.glob("cells/*.json")).unlink()  # one cell lost: resuming computes it again
    code, _, err = _run_cli(args + ["--run-id", "latest"], capsys)
    assert code == 0, err
    assert f"--run-id latest: run {run.name}" in err and "1 cells computed, 0 already stored" in err
    assert os.readlink(tmp_path / "latest") == run.name and len(list(tmp_path.iterdir())) == 2
    assert f"run {run.name}," in (run / "config.toml").read_text()


def test_comparing_runs_of_two_seeds_says_why_nothing_pairs_up(tmp_path, zoo_cache, capsys):
    """`bench report A B` on runs of --seed 0 and --seed 1 shares no cell (other images, other fits): it
    ended in a pandas traceback, and now says so and how to compare seeds on the same images."""
    args = ["run", "--dataset", "synthetic", "--n", "20", "--models", "mini:vgg", "--attacks", "fgsm",
            "--mode", "untargeted", "--format", "csv", "--cache-dir", str(zoo_cache), "--output", str(tmp_path)]
    for seed in ("0", "1"):
        assert _run_cli(args + ["--seed", seed, "--run-id", f"s{seed}"], capsys)[0] == 0
    code, _, err = _run_cli(["report", str(tmp_path / "s0"), str(tmp_path / "s1")], capsys)
    assert code == 2 and "Traceback" not in err
    assert err.count("\n") == 1 and "A ran seed 0 and B seed 1" in err and "--seeds 0,1" in err


@pytest.mark.slow  # subprocess runs of the real CLI (the fast suite stays under 5 min)
def test_a_log_file_gets_one_line_per_event_and_quiet_gets_none(tmp_path, zoo_cache):
    """stderr to a file (a batch job): no progress-bar repaints, one line per fitted attack and finished
    cell with its numbers; `--quiet` leaves errors only."""
    env = {**os.environ, "BENCH_CACHE": str(zoo_cache), "PYTHONPATH": str(ROOT)}
    (tmp_path / "run.toml").write_text('attacks = ["fgsm", {name = "class_uap", label = "class_uap", steps = 10}]\n')
    cmd = [sys.executable, "-m", "bench", "run", "--config", "run.toml", "--dataset", "synthetic", "--models",
           "mini:resnet,mini:vgg", "--n", "40", "--n-fit", "40", "--output", str(tmp_path / "runs"), "--run-id", "a"]
    with open(tmp_path / "err.log", "w") as err:
        proc = subprocess.run(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=err, text=True,
                              timeout=E2E_TIMEOUT)
    assert proc.returncode == 0, (tmp_path / "err.log").read_text()
    log = (tmp_path / "err.log").read_text()
    lines = log.splitlines()
    assert "\r" not in log and len(log) < 4000, log
    assert sum(line.startswith("cell ") for line in lines) == 8  # 2 attacks x 2 sources x 2 modes
    assert sum(line.startswith("fit class_uap") for line in lines) == 2  # one per source
    assert any("white-box success on correct" in line and "mean transfer" in line for line in lines)
    quiet = subprocess.run(cmd + ["--quiet"], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=E2E_TIMEOUT)  # the same folder again: renders, computes nothing
    assert quiet.returncode == 0 and quiet.stderr == "" and "## Summary" in quiet.stdout
    bad = subprocess.run(cmd + ["--quiet", "--eps", "2"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=E2E_TIMEOUT)
    assert bad.returncode == 2 and bad.stderr.startswith("error: eps 2 is out of range")


def test_a_cell_line_shows_a_slow_attacks_speed_instead_of_zero():
    """AutoAttack on a robust model runs at a fraction of an image per second: the log says 0.3, not 0."""
    from bench.driver import cell_line

    row = dict(attack="autoattack", norm="linf", eps=0.1, targeted=False, source="mini:resnet-at", whitebox=True,
               success_on_correct=0.226)
    assert cell_line([{**row, "images_per_second": 0.3}]).endswith(", 0.3 images/s")
    assert cell_line([{**row, "images_per_second": 23191.4}]).endswith(", 23,191 images/s")


def test_a_slow_cells_speed_is_stored_to_three_digits_not_rounded_to_zero():
    """A compiled CPU cell of 5 images took two minutes (compiling included): stored as 0.0, logged "0"."""
    from bench.driver import cell_line
    from bench.runner import images_per_second

    assert images_per_second(5, 120.0) == 0.0417 and images_per_second(1000, 3.0) == 333.3
    row = dict(attack="pgd", norm="linf", eps=0.1, targeted=False, source="m", whitebox=True, success_on_correct=1.0)
    assert cell_line([{**row, "images_per_second": images_per_second(5, 120.0)}]).endswith(", 0.0417 images/s")


def test_a_cell_line_over_no_correct_image_says_so_instead_of_nan():
    """A random-init timm model classifies none of the images correctly: untargeted success is a rate over
    no image. The log said "white-box success on correct nan%, mean transfer nan% over 2" (H200 run)."""
    from bench.driver import cell_line

    row = dict(attack="pgd", norm="linf", eps=8 / 255, targeted=False, images_per_second=900.0)
    nan = float("nan")
    line = cell_line([{**row, "source": "a", "whitebox": True, "success_on_correct": nan},
                      {**row, "source": "a", "whitebox": False, "success_on_correct": nan},
                      {**row, "source": "a", "whitebox": False, "success_on_correct": 0.25}])
    assert "nan" not in line
    assert "white-box success on correct n/a (no image correct), mean transfer 25.0% over 1 (1 more with no image correct)" in line
    none = cell_line([{**row, "source": "a", "whitebox": True, "success_on_correct": nan},
                      {**row, "source": "a", "whitebox": False, "success_on_correct": nan}])
    assert "nan" not in none and none.endswith("n/a (no image correct), mean transfer n/a (no image correct on 1 target), 900 images/s")
