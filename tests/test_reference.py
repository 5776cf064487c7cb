"""AutoAttack as the reference attack, `sources` (attack some models, score all), robust accuracy and
the gap to AutoAttack in the tables."""
from __future__ import annotations

import pandas as pd
import pytest
import torch

import attacks
from bench.config import AttackSpec, RunConfig
from bench.data import Split
from bench.driver import run_grid
from bench.errors import BenchError
from bench.plan import plan_grid
from bench.store import Store
from reports.tables import reference_gap_table, robust_table, summary_table


def test_autoattack_is_registered_untargeted_only_and_gets_no_targeted_cells():
    assert "autoattack" in attacks.REGISTRY.names()
    cfg = RunConfig(dataset="synthetic", attacks=(AttackSpec("pgd"), AttackSpec("autoattack")), mode="both")
    groups = plan_grid(cfg, {})
    modes = {g.spec.name: sorted(c.targeted for c in g.cells) for g in groups}
    assert modes == {"pgd": [False, True], "autoattack": [False]}
    only_targeted = RunConfig(dataset="synthetic", attacks=(AttackSpec("autoattack"),), mode="targeted")
    assert plan_grid(only_targeted, {}) == []


def test_sources_limit_the_attacked_models_and_every_model_is_scored():
    cfg = RunConfig(dataset="synthetic", models=("mini:resnet", "mini:vgg", "mini:densenet"), sources=("mini:vgg",),
                    attacks=(AttackSpec("pgd"),))
    assert {g.source for g in plan_grid(cfg, {})} == {"mini:vgg"}
    with pytest.raises(BenchError, match="not in --models"):
        RunConfig(models=("mini:resnet",), sources=("mini:vgg",))
    with pytest.raises(BenchError, match="repeats"):
        RunConfig(models=("mini:resnet",), sources=("mini:resnet", "mini:resnet"))


def test_an_attack_can_have_its_own_sources(tmp_path):
    """configs/defended.toml: cheap PGD on every defended model, the others on the run's sources; the
    cell keys do not depend on where the source list came from, and older run folders still match."""
    from bench.configfile import resolve_config

    models = ("mini:resnet", "mini:vgg", "mini:densenet")
    toml = tmp_path / "r.toml"
    toml.write_text('models = ["mini:resnet", "mini:vgg", "mini:densenet"]\nsources = ["mini:vgg"]\n'
                    'attacks = [{ name = "pgd", sources = ["mini:densenet", "mini:resnet"] }, "fgsm"]\n')
    cfg = resolve_config(toml)
    groups = plan_grid(cfg, {})
    assert [(g.spec.name, g.source) for g in groups] == [("pgd", "mini:densenet"), ("pgd", "mini:resnet"),
                                                         ("fgsm", "mini:vgg")]
    assert cfg.all_sources == ("mini:vgg", "mini:resnet", "mini:densenet")  # run's first, then models order
    assert [g.cells[0].order[2] for g in groups] == [2, 1, 0]
    plain = RunConfig(models=models, attacks=(AttackSpec("pgd"),))
    same = [g for g in plan_grid(plain, {}) if g.source == "mini:resnet"][0]
    assert same.cells[0].key == groups[1].cells[0].key
    assert "sources" not in plain.to_dict()["attacks"][0] and cfg.to_dict()["attacks"][0]["sources"] == (
        "mini:densenet", "mini:resnet")
    with pytest.raises(BenchError, match="pgd's sources: mini:vit is not in --models"):
        RunConfig(models=models, attacks=({"name": "pgd", "sources": ["mini:vit"]},))
    with pytest.raises(BenchError, match=r"attacks\[0\].sources must be a list of zoo names"):
        RunConfig(models=models, attacks=({"name": "pgd", "sources": [3]},))


def test_autoattack_is_at_least_as_strong_as_pgd_and_seeded(tiny_model, synthetic, tmp_path):
    """On the same images AutoAttack leaves no more images correct than PGD-10 (it starts with APGD-CE
    and only adds attacks), and two runs give the same rows."""
    x, y = synthetic.test.x[:40], synthetic.test.y[:40]
    cfg = RunConfig(dataset="synthetic", models=("m",), attacks=(AttackSpec("pgd"), AttackSpec("autoattack")),
                    eps=(0.1,), mode="untargeted", n=40, n_fit=40, batch_size=40)
    rows = []
    for folder in ("a", "b"):
        store = Store(tmp_path / folder)
        result = run_grid(cfg, {"m": tiny_model}, Split(x, y), Split(x, y), synthetic.num_classes, store,
                          device=torch.device("cpu"), identity={})
        assert not result.failures
        rows.append({r["attack"]: r["robust_acc"] for r in store.rows()})
    assert rows[0] == rows[1]
    assert rows[0]["autoattack"] <= rows[0]["pgd"]


def _row(attack, source, target, robust, targeted=False):
    return {"attack": attack, "method": attack, "norm": "linf", "eps": 0.1, "targeted": targeted, "source": source,
            "target": target, "whitebox": source == target, "seed": 0, "n": 1000, "clean_acc": 0.9,
            "fooling_rate": 0.5, "success_on_correct": 0.5, "targeted_success": float("nan"), "robust_acc": robust,
            "ssim_mean": 0.9, "psnr_mean": 30.0, "linf_max": 0.1, "images_per_second": 100.0}


def test_robust_table_takes_the_lowest_over_sources_and_the_gap_is_to_autoattack():
    df = pd.DataFrame([
        _row("pgd", "a", "a", 0.30), _row("pgd", "a", "b", 0.70), _row("pgd", "b", "b", 0.50),
        _row("pgd", "b", "a", 0.80), _row("autoattack", "a", "a", 0.25), _row("autoattack", "a", "b", 0.75),
        _row("autoattack", "b", "b", 0.40), _row("autoattack", "b", "a", 0.85),
        _row("pgd", "a", "a", 0.01, targeted=True),  # targeted rows do not count
    ])
    rob = robust_table(df).set_index("attack")
    assert rob.loc["pgd", "a"] == pytest.approx(30) and rob.loc["pgd", "b"] == pytest.approx(50)
    assert rob.loc["pgd", "a_lo"] < 30 < rob.loc["pgd", "a_hi"]
    gap = reference_gap_table(robust_table(df)).set_index("attack")
    assert list(gap.index) == ["pgd"]
    assert gap.loc["pgd", "a"] == pytest.approx(5) and gap.loc["pgd", "b"] == pytest.approx(10)
    assert reference_gap_table(robust_table(df[df.attack != "autoattack"])).empty
    summ = summary_table(df).set_index("attack")
    assert summ.loc["pgd", "robust_whitebox"] == pytest.approx(40)  # mean of a->a and b->b, untargeted


def test_a_grid_with_fewer_sources_than_targets_renders(tiny_model, synthetic, tmp_path):
    """A target that is never a source (a ViT in configs/defended.toml) gets transfer cells only, and
    every table, matrix and the robust table are written."""
    from reports import render_run, rows_frame
    from zoo import Defended, split_name

    models = {"m": tiny_model, "m+bits3": Defended(tiny_model, split_name("m+bits3")[1], "m+bits3")}
    cfg = RunConfig(dataset="synthetic", models=tuple(models), sources=("m",), attacks=(AttackSpec("pgd"),),
                    eps=(0.1,), mode="untargeted", n=40, n_fit=40, batch_size=40)
    x, y = synthetic.test.x[:40], synthetic.test.y[:40]
    store = Store(tmp_path / "cells")
    run_grid(cfg, models, Split(x, y), Split(x, y), synthetic.num_classes, store, device=torch.device("cpu"),
             identity={})
    df = rows_frame(store.rows())
    assert sorted(zip(df.source, df.target)) == [("m", "m"), ("m", "m+bits3")]
    render_run(df, tmp_path, formats=("csv", "latex", "markdown"))
    matrix = pd.read_csv(tmp_path / "transfer_pgd_eps0.1.csv", index_col=0)
    assert list(matrix.index) == ["m"] and {"m", "m+bits3"} <= set(matrix.columns)
    assert set(pd.read_csv(tmp_path / "robust.csv").columns) >= {"m", "m+bits3"}
