"""The Python API and the one declaration of every run option: `bench.run` takes what `bench run`
and a TOML file take, checked by RunConfig alike, and returns the results as DataFrames."""
from __future__ import annotations

import argparse
import json

import pandas as pd
import torch
import pytest

import bench
from bench.cli import _build_parser
from bench.config import OPTIONS, RunConfig, iter_options
from bench.configfile import read_config, resolve_config
from bench.errors import BenchError


def _run_parser() -> argparse.ArgumentParser:
    sub = next(a for a in _build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["run"]


def test_every_option_is_a_flag_a_toml_key_and_a_keyword(tmp_path):
    dests = {a.dest for a in _run_parser()._actions}
    assert set(OPTIONS) <= dests, set(OPTIONS) - dests
    for name, meta, default in iter_options():
        assert getattr(RunConfig(), name) == default or name in ("attacks", "models", "eps")
        assert meta["help"], name
    # a TOML file with every recorded option at a non-default value parses and lands in the config
    toml = tmp_path / "all.toml"
    toml.write_text('dataset = "synthetic"\nmodels = ["mini:vgg"]\nattacks = ["fgsm"]\neps = [0.2]\nnorm = "l2"\n'
                    'mode = "targeted"\nn = 7\nn_fit = 8\nseed = 3\nzoo_seed = 1\nbatch_size = 5\ndevice = "cpu"\n'
                    'pretrained = true\namp = "bf16"\nchannels_last = true\nworkers = 0\n')
    cfg = resolve_config(toml)
    assert (cfg.n, cfg.n_fit, cfg.seed, cfg.zoo_seed, cfg.batch_size, cfg.workers) == (7, 8, 3, 1, 5, 0)
    assert cfg.targeted == (True,) and cfg.norm == "l2" and cfg.amp == "bf16" and cfg.channels_last


def test_flags_then_file_then_defaults(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text('n = 40\neps = [0.3]\n')
    a = _build_parser().parse_args(["run", "--config", str(toml), "--eps", "0.05,8/255", "--models", "mini:vgg"])
    from bench.cli import run_overrides

    cfg = resolve_config(a.config, run_overrides(a))
    assert cfg.eps == (0.05, 8 / 255) and cfg.n == 40 and cfg.models == ("mini:vgg",) and cfg.seed == 0


@pytest.mark.parametrize("options,needle", [
    ({"n": 0}, "n (--n) must be a positive integer, got 0"),
    ({"workers": -1}, "(--workers) must be 0 or more"),
    ({"eps": []}, "eps is empty"),
    ({"eps": "abc"}, "8/255"),
    ({"norm": "l3"}, "norm 'l3' (did you mean 'l2'?) is not one of linf, l2"),
    ({"models": []}, "models is empty"),
    ({"attacks": [3]}, "must be an attack name or a table"),
    ({"n": "many"}, "n (--n) must be an integer"),
    ({"ray_address": "x:1"}, "--ray-address is for --executor ray"),
    ({"shard": "3/2"}, "is not i/n"),
    ({"epz": [0.1]}, "did you mean 'eps'"),
    # other tools' names for an option: the one meant, though no spelling is close
    ({"targeted": True}, "unknown run option 'targeted'; did you mean 'mode' (both, untargeted, targeted)?"),
    ({"num_images": 100}, "unknown run option 'num_images'; did you mean 'n'?"),
    ({"seed": [0, 1]}, "seed (--seed) must be an integer, got [0, 1]; several go in seeds"),
])
def test_the_api_rejects_what_the_cli_rejects(options, needle):
    with pytest.raises(BenchError) as err:
        resolve_config(None, options)
    assert needle in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("config", [None, "RunConfig"])
@pytest.mark.parametrize("options,needle", [
    ({"quiet": True}, "bench.run has no option 'quiet': log=None runs without status lines"),
    ({"debug": True}, "bench.run has no option 'debug'"),
    ({"epsilon": 0.1}, "unknown run option 'epsilon'; did you mean 'eps'?"),
])
def test_bench_run_names_what_stands_for_a_keyword_it_lacks(config, options, needle):
    """`bench --quiet` is a flag of the command, not a run option: in Python it is log=None. Given with a
    RunConfig, an unknown keyword once surfaced as dataclasses' bare TypeError."""
    import bench

    with pytest.raises(BenchError) as err:
        bench.run(bench.RunConfig() if config else None, **options)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_a_toml_file_is_checked_by_the_same_rules(tmp_path):
    toml = tmp_path / "bad.toml"
    toml.write_text("n = 0\n")
    with pytest.raises(BenchError, match=r"n \(--n\) must be a positive integer, got 0"):
        resolve_config(toml)


def test_run_returns_dataframes_and_load_run_reopens_them(tmp_path, zoo_cache):
    out = tmp_path / "runs"
    r = bench.run(dataset="synthetic", models=["mini:resnet", "mini:vgg"], attacks=["fgsm"], n=60, n_fit=20,
                  mode="untargeted", cache_dir=str(zoo_cache), output=str(out), run_id="api", log=None)
    assert r.run_dir == out / "api" and not r.failures and r.computed == 2
    df = r.results()
    assert len(df) == 4 and set(df.target) == {"mini:resnet", "mini:vgg"}
    summary = r.summary()
    assert isinstance(summary, pd.DataFrame) and list(summary.attack) == ["fgsm"]
    m = r.transfer("fgsm", 0.1)
    assert m.shape == (2, 2) and ((m >= 0) & (m <= 100)).all().all()
    with pytest.raises(BenchError, match="no cells for attack 'pgd'"):
        r.transfer("pgd", 0.1)
    with pytest.raises(BenchError, match=r"'fgsm' at eps 0.1 ran untargeted only in this run; pass targeted=False"):
        r.transfer("fgsm", 0.1, targeted=True)  # the mode it did not run: said so, not "no cells"
    pd.testing.assert_frame_equal(r.transfer("fgsm", "1/10"), m)  # eps as the command line takes it
    with pytest.raises(BenchError, match="write it as 0.03 or 8/255"):  # not float()'s bare ValueError
        r.transfer("fgsm", "abc")
    again = bench.load_run(out / "api")
    pd.testing.assert_frame_equal(again.results(), df)
    assert "## Summary" in again.render(["markdown"]) and (out / "api" / "summary.md").is_file()
    (out / "api" / "summary.md").unlink()
    again.render("md")  # the flag's spelling: a comma string, the suffix aliases
    assert (out / "api" / "summary.md").is_file()
    for bad, needle in ((["csv", "pfd"], "did you mean 'pdf'"), ([], "format is empty"), ("c,s,v", "unknown")):
        with pytest.raises(BenchError, match=needle):  # checked, not iterated letter by letter
            again.render(bad)
    assert "## Summary" in r.markdown  # what `bench run` prints
    # a notebook renders the tables; repr (a script's print) is one line, not the whole Markdown
    assert r._repr_markdown_() == r.markdown and "\n" not in repr(r) and "computed=2" in repr(r)
    manifest = json.loads((out / "api" / "manifest.json").read_text())
    phases = manifest["phase_seconds"]
    assert phases["perturbation"] > 0 and sum(phases.values()) <= manifest["wall_seconds"] + 0.05
    assert manifest["device"]["torch_threads"] == torch.get_num_threads()  # floats depend on both
    assert manifest["device"]["cpu_capability"] == torch.backends.cpu.get_cpu_capability()


def test_dry_run_plans_without_writing(tmp_path, zoo_cache):
    r = bench.run(dataset="synthetic", models=["mini:vgg"], attacks=["fgsm", "pgd"], n=20, n_fit=10,
                  cache_dir=str(zoo_cache), output=str(tmp_path / "runs"), dry_run=True, log=None)
    assert r.run_dir is None and "4 cells" in r.plan and not (tmp_path / "runs").exists()
    with pytest.raises(BenchError, match="a dry run computes nothing"):
        r.results()


def test_dry_run_tells_which_fits_the_cache_already_holds(tmp_path, zoo_cache):
    """A learned attack's fit shows as `to fit` until a run has cached it, then as `cached` with no fit
    passes; a variant differing only in a perturb-only parameter reads the same fit."""
    uap = {"name": "class_uap", "steps": 2, "lr": 0.0123}  # parameters no other test uses: a fit of its own
    kw = dict(dataset="synthetic", models=["mini:vgg"], n=20, n_fit=10, mode="untargeted",
              cache_dir=str(zoo_cache), output=str(tmp_path / "runs"), log=None)
    before = bench.run(attacks=[uap], dry_run=True, **kw).plan
    assert "to fit" in before and "fits: 0 cached, 1 to fit" in before
    bench.run(attacks=[uap], run_id="one", **kw)
    after = bench.run(attacks=[uap, {**uap, "label": "other-rule", "untargeted": "best_class"}], dry_run=True, **kw).plan
    assert "fits: 2 cached, 0 to fit" in after
    row = next(line for line in after.splitlines() if line.startswith("other-rule"))
    assert row.split()[-3:-1] == ["cached", "0"]  # fit column, then passes


def test_dry_run_marks_worst_case_pass_counts(tmp_path, zoo_cache):
    """UAP's DeepFool passes are a worst case: its row says `<=` and a footnote says the estimate is an
    upper bound; PGD's exact count is unmarked, and a plan without such a group has no footnote."""
    kw = dict(dataset="synthetic", models=["mini:vgg"], n=20, n_fit=10, mode="untargeted",
              cache_dir=str(zoo_cache), output=str(tmp_path / "runs"), log=None, dry_run=True)
    plan = bench.run(attacks=["pgd", {"name": "uap", "max_passes": 3}], **kw).plan
    rows = {line.split()[0]: line for line in plan.splitlines() if line.startswith(("pgd", "uap"))}
    assert f"<={3 * 10 * 10 * 10:,}" in rows["uap[max_passes=3]"].split() and "<=" not in rows["pgd"]
    assert "upper bounds" in plan.split("estimated compute", 1)[1]  # the footnote under the estimate
    assert "upper bounds" not in bench.run(attacks=["pgd"], **kw).plan


def test_dry_run_rows_keep_long_labels_whole(tmp_path, zoo_cache):
    """A label with parameters (`--attacks 'pgd[alpha=0.0123456789,steps=12]'`) is not cut, and the
    columns after it stay aligned with the header."""
    plan = bench.run(dataset="synthetic", models=["mini:vgg"],
                     attacks=["fgsm", {"name": "pgd", "alpha": 0.0123456789, "steps": 12}],
                     n=20, cache_dir=str(zoo_cache), output=str(tmp_path / "runs"), log=None, dry_run=True).plan
    header, *rows = plan.splitlines()
    row = next(r for r in rows if r.startswith("pgd["))
    assert row.split()[0] == "pgd[alpha=0.0123456789,steps=12]"
    assert row.index("linf") == header.index("budget") and rows[0].index("linf") == header.index("budget")


def test_dry_run_says_when_the_machine_was_busy(tmp_path, zoo_cache, monkeypatch):
    """Its estimate is measured on the machine as it is: when the measurement got under 80% of its
    threads' CPU time the plan says so (a dry run beside a 2-thread job on 2 cores got 50% and estimated
    100x the idle time), and on an idle machine it does not."""
    import common.machine

    kw = dict(dataset="synthetic", models=["mini:vgg"], attacks=["fgsm"], n=20, cache_dir=str(zoo_cache),
              output=str(tmp_path / "runs"), log=None, dry_run=True)
    monkeypatch.setattr(common.machine, "cpu_share", lambda fn: (fn(), 0.5))
    busy = bench.run(**kw).plan.splitlines()[-1]
    assert busy.startswith("note: the machine was busy") and "got 50% of its" in busy
    monkeypatch.setattr(common.machine, "cpu_share", lambda fn: (fn(), 0.97))
    assert "busy" not in bench.run(**kw).plan


def test_cpu_share_is_the_share_of_the_threads_cpu_time():
    """A sleep uses no CPU (share near 0); torch work on this process's threads uses most of theirs."""
    import time

    from common.machine import BUSY_SHARE, busy_note, cpu_share

    assert cpu_share(lambda: time.sleep(0.2))[1] < 0.2
    x = torch.randn(512, 512)
    out, share = cpu_share(lambda: [x @ x for _ in range(200)])
    assert len(out) == 200 and 0 < share <= 1.5  # the machine's load decides how close to 1
    assert busy_note(BUSY_SHARE) is None and "got 79%" in busy_note(0.79)


def test_load_run_of_a_folder_without_results(tmp_path):
    with pytest.raises(BenchError, match="no stored results"):
        bench.load_run(tmp_path)
    (tmp_path / "runs" / "a" / "cells").mkdir(parents=True)
    (tmp_path / "runs" / "a" / "cells" / "x.json").write_text("{}")
    with pytest.raises(BenchError, match=r"runs holds run folders \(a\); pass one, e\.g\. .*runs/a$"):
        bench.load_run(tmp_path / "runs")


def test_read_config_keys_are_the_options():
    """configfile has no key table of its own: an option added to RunConfig is a TOML key at once."""
    import bench.configfile as cf

    assert not hasattr(cf, "KEYS") and read_config.__module__ == "bench.configfile"


@pytest.mark.slow  # subprocess runs of the real CLI (the fast suite stays under 5 min)
def test_the_api_works_in_a_folder_that_already_holds_reports_runs(tmp_path, zoo_cache):
    """As installed by the README (no PYTHONPATH): a second run in the same folder, where the first one
    left ./reports/runs, still finds the `reports` package (the folder must not shadow it)."""
    import os
    import subprocess
    import sys

    (tmp_path / "reports" / "runs").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["BENCH_CACHE"] = str(zoo_cache)
    code = ("import bench; r = bench.run(dataset='synthetic', models=['mini:vgg'], attacks=['fgsm'], n=40, "
            "mode='untargeted', log=None); print(r.summary().attack.tolist())")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-1500:]
    assert "['fgsm']" in proc.stdout and len(list((tmp_path / "reports" / "runs").iterdir())) >= 1


def test_dry_run_counts_a_generator_fit_beyond_the_source_passes(tmp_path, zoo_cache, monkeypatch):
    """A generator's own steps are part of a fit's estimate (measured per fit configuration, once): a
    generator fit to do costs more than its source passes alone, and nothing once it is cached."""
    from attacks.generative.family import GAP

    calls = []

    def fake(self, x, num_classes, n_fit):  # a known cost instead of a timing (timings are not asserted)
        calls.append(self.label)
        return 1000.0

    monkeypatch.setattr(GAP, "fit_extra_seconds", fake)
    kw = dict(dataset="synthetic", models=["mini:vgg", "mini:resnet"], n=20, n_fit=10, mode="untargeted",
              cache_dir=str(zoo_cache), output=str(tmp_path / "runs"), log=None, eps=[0.1, 0.05])
    plan = bench.run(attacks=["fgsm", {"name": "gap", "steps": 2, "lr": 0.0321}], dry_run=True, **kw).plan
    est = {(line.split()[0], line.split()[3], line.split()[2]): float(line.split()[-1])
           for line in plan.splitlines() if line.startswith(("fgsm", "gap"))}
    assert all(est[k] > 1000 for k in est if k[0] == "gap") and all(est[k] < 1000 for k in est if k[0] == "fgsm")
    assert calls == ["gap"]  # 2 sources x 2 budgets, one generator configuration: measured once


@pytest.mark.parametrize("name,extra", [("gap", {}), ("gap", {"targeted": True}), ("gap", {"universal": True}),
                                        ("cda", {}), ("vizpert", {}), ("vizpert", {"condition": "image"})])
def test_fit_extra_seconds_measures_each_generator(name, extra, monkeypatch):
    """Each generator kind builds and steps on the dataset's shape; the steps multiply one measured step."""
    import attacks

    seen = []

    def one_step(gen, batch, inputs):
        args = inputs(3)
        gen(*args).square().mean().backward()  # the generator takes the inputs it is given
        seen.append(batch)
        return 0.5
    for module in ("attacks.generative.base", "attacks.vizpert.attack"):
        monkeypatch.setattr(f"{module}.generator_step_seconds", one_step)
    from attacks.classwise import RANK_IMAGES

    attack = attacks.create(name, steps=7, **extra)
    batch = 10 if name == "vizpert" and not extra else attack.params["batch_size"]
    # a generator that ranks its classes through itself (G(x, c), targeted GAP) adds a forward (a third
    # of its step) for each of the 10 classes' RANK_IMAGES images
    ranking = 0.5 / batch / 3 * 10 * RANK_IMAGES if extra in ({"targeted": True}, {"condition": "image"}) else 0.0
    # G(c), once trained, generates every class's output (a forward per class)
    outputs = 0.5 / batch / 3 * 10 if name == "vizpert" and not extra else 0.0
    assert attack.fit_extra_seconds(torch.rand(4, 1, 28, 28), 10) == pytest.approx(3.5 + ranking + outputs)
    assert seen == [batch]
    if ranking:  # a fit split under RANK_IMAGES ranks on fewer images: its forwards shrink with it
        small = attack.fit_extra_seconds(torch.rand(4, 1, 28, 28), 10, n_fit=RANK_IMAGES // 4)
        assert small == pytest.approx(3.5 + ranking / 4 + outputs)
    assert attacks.create("pgd").fit_extra_seconds(torch.rand(4, 1, 28, 28), 10) == 0.0


def test_dry_run_seconds_are_passes_forwards_and_the_ranking_at_the_measured_rates():
    """With known per-image seconds (no timing), each group's estimate is its forward+backward passes at
    the source's pass time, plus every model's forward over every cell's images, plus, for a fit that
    ranks its classes (class_uap, not pgd), the ranking's forwards on the source."""
    import attacks
    from attacks.classwise import ranking_images
    from bench.config import Shard
    from bench.configfile import resolve_config
    from bench.dryrun import describe
    from bench.plan import plan_grid

    cfg = resolve_config(None, dict(dataset="synthetic", models=["mini:vgg", "mini:resnet"], n=20, n_fit=300,
                                    attacks=["pgd", {"name": "class_uap", "steps": 3}], mode="untargeted", eps=[0.1]))
    groups = plan_grid(cfg, {})
    rates = {"mini:vgg": (1.0, 0.01), "mini:resnet": (2.0, 0.1)}
    plan = describe(cfg, groups, Shard(), set(), rates, 4, fit_cached=lambda g: False)
    est = {(line.split()[0], line.split()[3]): float(line.split()[-1]) for line in plan.splitlines()
           if line.startswith(("pgd", "class_uap"))}
    scoring = 20 * (0.01 + 0.1)  # one untargeted cell, 20 images, both models
    for source, (pass_s, forward_s) in rates.items():  # two-element rates: no single-image pass measured
        pgd = attacks.create("pgd").gradient_passes(20, 300, 4)
        assert est["pgd", source] == pytest.approx(pgd * pass_s + scoring, abs=0.06)
        uap = attacks.create("class_uap", steps=3).gradient_passes(20, 300, 4)
        ranking = sum(ranking_images(300, 4)) * forward_s
        assert est["class_uap[steps=3]", source] == pytest.approx(uap * pass_s + ranking + scoring, abs=0.06)


def test_dry_run_times_an_image_at_a_time_attack_at_the_single_image_pass():
    """torchattacks' DeepFool loops over the images: its passes are priced at the measured single-image
    pass (several times the batched share on a CPU), batched attacks at the batched one."""
    import attacks
    from bench.config import Shard
    from bench.configfile import resolve_config
    from bench.dryrun import PassSeconds, describe
    from bench.plan import plan_grid

    cfg = resolve_config(None, dict(dataset="synthetic", models=["mini:vgg"], n=20, mode="untargeted",
                                    attacks=["torchattacks:DeepFool", "torchattacks:PGDL2"], norm="l2", eps=[1.0]))
    rates = {"mini:vgg": PassSeconds(pass_s=0.001, forward_s=0.0, single_pass_s=0.01)}
    plan = describe(cfg, plan_grid(cfg, {}), Shard(), set(), rates, 4)
    est = {line.split()[0]: float(line.split()[-1]) for line in plan.splitlines() if line.startswith("torchattacks")}
    deepfool, pgd = attacks.create("torchattacks:DeepFool"), attacks.create("torchattacks:PGDL2")
    assert deepfool.one_image_at_a_time and not pgd.one_image_at_a_time
    assert deepfool.gradient_passes(20, 0, 4) == 50 * 4 * 20  # steps x a gradient per class x images
    assert est["torchattacks:DeepFool"] == pytest.approx(deepfool.gradient_passes(20, 0, 4) * 0.01, abs=0.06)
    assert est["torchattacks:PGDL2"] == pytest.approx(pgd.gradient_passes(20, 0, 4) * 0.001, abs=0.06)


def test_n_fit_beyond_the_fit_split_matters_only_to_attacks_that_fit(tmp_path, zoo_cache):
    """A small image folder has few fit images: FGSM and PGD, which learn nothing from them, run with the
    default n_fit (1000) instead of failing on it; an attack that fits still gets the error."""
    kw = dict(dataset="synthetic", models=["mini:vgg"], n=20, n_fit=10**6, mode="untargeted",
              cache_dir=str(zoo_cache), output=str(tmp_path), log=None)
    r = bench.run(attacks=["fgsm"], run_id="a", **kw)
    assert r.computed == 1 and not r.failures
    with pytest.raises(BenchError, match=r"n_fit=1000000 is larger than the \d+ images available"):
        bench.run(attacks=["fgsm", "uap"], dry_run=True, **kw)
