"""The grid runner and store: one row per cell and target, same seed same numbers, resume without loss."""
from __future__ import annotations

import pandas as pd
import pytest
import torch

from bench.config import AttackSpec, RunConfig
from bench.data import make_splits
from bench.errors import BenchError
from bench.models import load_models
from bench.driver import run_grid
from bench.store import Store
from reports import TIMING_COLUMNS, rows_frame

MODELS = ("mini:resnet", "mini:vgg")


def _cfg(**kw) -> RunConfig:
    base = dict(dataset="synthetic", models=MODELS, attacks=(AttackSpec("fgsm"), AttackSpec("pgd", {"steps": 3})),
                eps=(0.05, 0.1), n=120, n_fit=50, seed=7, batch_size=50, device="cpu")
    return RunConfig(**{**base, **kw})


def _run(cfg, synthetic, zoo_cache, run_dir):
    models = load_models(list(cfg.models), synthetic, torch.device("cpu"), cache_dir=zoo_cache)
    fit, ev = make_splits(synthetic, cfg.n_fit, cfg.n, cfg.seed)
    store = Store(run_dir)
    identity = {"dataset": cfg.dataset, "seed": cfg.seed, "n": cfg.n,
                "weights": {k: m.weights_sha256 for k, m in models.items()}}
    result = run_grid(cfg, models, fit, ev, synthetic.num_classes, store, device=torch.device("cpu"),
                      identity=identity)
    return result, rows_frame(store.rows())


def _metrics(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=TIMING_COLUMNS)


def test_grid_has_one_row_per_cell_and_target(synthetic, zoo_cache, tmp_path):
    cfg = _cfg()
    result, df = _run(cfg, synthetic, zoo_cache, tmp_path)
    assert result.computed == 2 * 2 * 2 * 2 and not result.failures
    assert len(df) == 2 * 2 * 2 * 2 * 2
    assert not df.duplicated(["attack", "eps", "norm", "targeted", "source", "target"]).any()
    assert df.whitebox.sum() == len(df) // 2
    assert (df.linf_max <= df.eps + 1e-6).all()
    assert df[~df.targeted].targeted_success.isna().all() and df[df.targeted].targeted_success.notna().all()
    assert (df.score_seconds > 0).all() and (df.groupby(["attack", "eps", "targeted", "source"]).score_seconds
                                            .nunique() == 1).all()  # one scoring time per cell, on all its rows


def test_same_seed_same_metrics(synthetic, zoo_cache, tmp_path):
    cfg = _cfg(eps=(0.1,))
    _, a = _run(cfg, synthetic, zoo_cache, tmp_path / "a")
    _, b = _run(cfg, synthetic, zoo_cache, tmp_path / "b")
    pd.testing.assert_frame_equal(_metrics(a), _metrics(b))
    assert _metrics(a).to_csv(index=False) == _metrics(b).to_csv(index=False)


def test_resume_skips_finished_cells_and_loses_nothing(synthetic, zoo_cache, tmp_path):
    cfg = _cfg(eps=(0.1,))
    _, full = _run(cfg, synthetic, zoo_cache, tmp_path / "full")
    # a run killed after some cells: keep 3 of its 8 cell files
    _, _ = _run(cfg, synthetic, zoo_cache, tmp_path / "killed")
    cells = sorted((tmp_path / "killed" / "cells").glob("*.json"))
    for path in cells[3:]:
        path.unlink()
    (tmp_path / "killed" / "cells" / ".x.json.123.tmp").write_text("{torn")  # a write cut short
    result, resumed = _run(cfg, synthetic, zoo_cache, tmp_path / "killed")
    assert result.skipped == 3 and result.computed == len(cells) - 3
    pd.testing.assert_frame_equal(_metrics(resumed), _metrics(full))


def test_pgd_whitebox_at_least_fgsm(synthetic, zoo_cache, tmp_path):
    _, df = _run(_cfg(eps=(0.1,), attacks=(AttackSpec("fgsm"), AttackSpec("pgd"))), synthetic, zoo_cache, tmp_path)
    wb = df[df.whitebox & ~df.targeted].set_index(["attack", "source"]).fooling_rate
    for source in MODELS:
        assert wb["pgd", source] >= wb["fgsm", source]


def test_failing_cell_is_reported_and_the_rest_completes(synthetic, zoo_cache, tmp_path):
    import attacks
    from attacks.torchattacks_adapter import FGSM

    class UntargetedOnlyFGSM(FGSM):
        """FGSM whose targeted cells fail, as a library attack's can (a foreign error mid-grid)."""

        name = "fgsm_failing_targeted"

        def _perturb(self, fitted, model, x, y, target):
            if target is not None:
                raise attacks.AttackError("no targeted mode (simulated)")
            return super()._perturb(fitted, model, x, y, target)

    attacks.REGISTRY.register(UntargetedOnlyFGSM.name, UntargetedOnlyFGSM, "test only")
    try:
        cfg = _cfg(eps=(0.1,), attacks=(AttackSpec(UntargetedOnlyFGSM.name), AttackSpec("fgsm")))
        result, df = _run(cfg, synthetic, zoo_cache, tmp_path)
    finally:
        attacks.REGISTRY._entries.pop(UntargetedOnlyFGSM.name)
    assert len(result.failures) == 2  # one failed targeted cell per source
    assert all("no targeted mode (simulated)" in f.error and "targeted=True" in f.cell for f in result.failures)
    assert set(df.attack) == {UntargetedOnlyFGSM.name, "fgsm"} and len(df) == (2 + 4) * 2


def test_eps_zero_fools_nobody(tiny_model, synthetic):
    """A zero budget (which run configs reject as a user input) leaves every image as it is."""
    import attacks
    from attacks import Budget

    x, y = synthetic.test.x[:50], synthetic.test.y[:50]
    for name, params in (("fgsm", {}), ("pgd", {"steps": 3}), ("noise", {})):
        attack = attacks.create(name, **params)
        fitted = attack.fit(tiny_model, [], Budget("linf", 0.0), seed=0)
        assert torch.equal(attack.perturb(fitted, tiny_model, x, y), x)
    with pytest.raises(BenchError, match="eps 0 is out of range"):
        _cfg(eps=(0.0,))


def test_out_of_memory_halves_the_batch_and_records_it(tiny_model, synthetic, tmp_path):
    """A batch that does not fit is halved and retried; the run completes and says so."""
    import attacks
    from attacks.torchattacks_adapter import FGSM
    from bench.data import Split

    class SmallMemoryFGSM(FGSM):
        name = "fgsm_small_memory"

        def _perturb(self, fitted, model, x, y, target):
            if len(x) > 16:
                raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
            return super()._perturb(fitted, model, x, y, target)

    attacks.REGISTRY.register("fgsm_small_memory", SmallMemoryFGSM, "test only")
    try:
        cfg = RunConfig(dataset="synthetic", models=("m",), attacks=(AttackSpec("fgsm_small_memory"),), eps=(0.1,),
                        mode="untargeted", n=100, n_fit=10, batch_size=64)
        split = Split(synthetic.test.x[:100], synthetic.test.y[:100])
        result = run_grid(cfg, {"m": tiny_model}, split, split, synthetic.num_classes, Store(tmp_path),
                          device=torch.device("cpu"), identity={})
    finally:
        attacks.REGISTRY._entries.pop("fgsm_small_memory")
    assert result.computed == 1 and not result.failures
    assert result.batch_fallbacks == [{"model": "m", "from": 64, "to": 32}, {"model": "m", "from": 32, "to": 16}]
    rows = Store(tmp_path).rows()
    assert rows[0]["n"] == 100 and rows[0]["linf_max"] <= 0.1 + 1e-6


def test_many_class_fits_keep_only_the_shown_classes_for_the_report(tmp_path):
    """An ImageNet fit has 1000 per-class deltas of 3x224x224 (600 MB): the run keeps the report's
    classes only (the eval split's first 20), with their indices, and the plots title them by name."""
    from safetensors.torch import load_file

    from attacks import Budget, Fitted
    from bench.runner import MAX_SHOWN_CLASSES, _fitted_artifacts
    from bench.store import Store
    from reports.plots import delta_grids

    deltas = torch.arange(30.0).view(30, 1, 1, 1).expand(30, 1, 12, 12).contiguous() / 100
    fitted = Fitted("class_uap", Budget("linf", 0.3), {"deltas": deltas})
    shown = torch.arange(5, 30)[:MAX_SHOWN_CLASSES]
    store = Store(tmp_path)
    for art in _fitted_artifacts(fitted, "class_uap", fitted.budget, "m", shown):
        store.put_artifact(art.name, art.tensors, art.meta)
    saved = load_file(str(next((tmp_path / "artifacts").glob("deltas_*.safetensors"))))
    assert saved["deltas"].shape[0] == MAX_SHOWN_CLASSES and torch.equal(saved["classes"], shown)
    assert torch.equal(saved["deltas"][0], deltas[5])  # row i is class shown[i]
    names = [f"class-{i}" for i in range(30)]
    paths = delta_grids(tmp_path, names)
    assert len(paths) == 1 and paths[0].is_file()
    small = Fitted("class_uap", Budget("linf", 0.3), {"deltas": deltas[:10]})  # few classes: all kept, as before
    for art in _fitted_artifacts(small, "few", small.budget, "m", torch.arange(10)):
        store.put_artifact(art.name, art.tensors, art.meta)
    saved = load_file(str(next((tmp_path / "artifacts").glob("deltas_few*.safetensors"))))
    assert saved["deltas"].shape[0] == 10 and "classes" not in saved


def test_random_draws_do_not_depend_on_an_out_of_memory_retry(tiny_model, synthetic, tmp_path):
    """A batch that runs out of memory after drawing its random start is retried: its draws, and
    every later batch's, must be those of a run that never ran out of memory (seeded per batch from
    the cell seed and the batch's first image, not continued from the failed attempt's stream)."""
    import attacks
    from attacks import Attack
    from bench.datatypes import Split

    class UniformStart(Attack):
        """x plus uniform noise of the budget; runs out of memory on batches over 16 images, after drawing."""

        name = "uniform_start_test"

        def _perturb(self, fitted, model, x, y, target):
            noise = torch.empty_like(x).uniform_(-fitted.budget.eps, fitted.budget.eps)
            if len(x) > 16:
                raise torch.OutOfMemoryError("CUDA out of memory (simulated, after the random start)")
            return x + noise

    attacks.REGISTRY.register(UniformStart.name, UniformStart, "test only")
    split = Split(synthetic.test.x[:64], synthetic.test.y[:64])
    rows = {}
    try:
        for batch_size in (16, 32):  # 32: the first batch fails once, then every batch has 16 images
            cfg = RunConfig(dataset="synthetic", models=("m",), attacks=(AttackSpec(UniformStart.name),),
                            eps=(0.1,), mode="untargeted", n=64, n_fit=10, batch_size=batch_size)
            result = run_grid(cfg, {"m": tiny_model}, split, split, synthetic.num_classes,
                              Store(tmp_path / str(batch_size)), device=torch.device("cpu"), identity={})
            assert result.computed == 1 and not result.failures
            rows[batch_size] = _metrics(rows_frame(Store(tmp_path / str(batch_size)).rows()))
    finally:
        attacks.REGISTRY._entries.pop(UniformStart.name)
    assert result.batch_fallbacks == [{"model": "m", "from": 32, "to": 16}]
    pd.testing.assert_frame_equal(rows[16], rows[32])


def test_phase_times_book_each_fit_once_and_skip_cached_fits():
    """Both modes of a group share one fit: its seconds count once, and not at all from the cache;
    the grid's rest is evaluation, floored at 0 when parallel workers' times overlap."""
    from bench.driver import _book_times
    from bench.phases import PhaseClock
    from bench.runner import GridResult

    result, seen = GridResult(), set()
    base = {"attack": "uap", "norm": "linf", "eps": 0.1, "source": "a", "seed": 0, "perturb_seconds": 1.0}
    for row in ({**base, "fit_seconds": 5.0, "fit_cached": False},  # untargeted cell
                {**base, "fit_seconds": 5.0, "fit_cached": False},  # targeted cell, same fit
                {**base, "source": "b", "fit_seconds": 7.0, "fit_cached": True}):  # fit read from the cache
        _book_times(result, row, seen)
    assert result.fit_seconds == 5.0 and result.perturb_seconds == 3.0
    clock = PhaseClock()
    clock.split_grid(10.0, result.fit_seconds, result.perturb_seconds)
    assert clock.as_dict() == {"fits": 5.0, "perturbation": 3.0, "evaluation": 2.0}
    clock.split_grid(1.0, 2.0, 2.0)  # overlapping workers
    assert clock.as_dict()["evaluation"] == 2.0
    assert clock.text().startswith("time per phase: fits 7.0 s")


def test_an_attack_that_overrides_perturb_is_still_checked_by_the_runner(tiny_model, synthetic):
    """Attack.perturb ends with the budget check, so the runner does not repeat it; an attack that
    overrides perturb (against the contract) skips that check and must be caught by the runner."""
    from attacks import Attack, Budget, BudgetViolation
    from bench.batching import BatchSizer
    from bench.datatypes import Split
    from bench.runner import _adversarial

    class Overrider(Attack):
        name = "overrider_test"

        def _perturb(self, fitted, model, x, y, target):
            return x

        def perturb(self, fitted, model, x, y, target=None):  # noqa: D102 - the violation under test
            return (x + 0.5).clamp(0, 1)

    split = Split(synthetic.test.x[:20], synthetic.test.y[:20])
    attack = Overrider()
    fitted = attack.fit(tiny_model, [], Budget("linf", 0.05), seed=0)
    with pytest.raises(BudgetViolation, match="exceeded the linf budget"):
        _adversarial(attack, fitted, tiny_model, split, None, BatchSizer(8), "m", torch.device("cpu"))



def test_the_runner_reads_each_budget_check_late_and_still_raises_on_the_last_batch(tiny_model, synthetic,
                                                                                     monkeypatch):
    """The runner queues each batch's check (no host read while the batch runs), reads it after the next
    batch is launched, and reads the last one before returning: a violation in the last batch raises."""
    from attacks import Attack, Budget, BudgetViolation
    from bench.batching import BatchSizer
    from bench.datatypes import Split
    from bench.runner import _adversarial

    class LastBatchCheats(Attack):
        name = "last_batch_cheats_test"

        def _perturb(self, fitted, model, x, y, target):
            return x + 0.5 if len(x) < 8 else x  # 20 images in batches of 8: only the last (4) cheats

    immediate, judged = [], []
    monkeypatch.setattr(Budget, "check", lambda self, *a, **k: immediate.append(1))
    real_judge = Budget.judge
    monkeypatch.setattr(Budget, "judge", lambda self, *a, **k: (judged.append(a[1]), real_judge(self, *a, **k)))
    split = Split(synthetic.test.x[:20], synthetic.test.y[:20])
    attack = LastBatchCheats()
    fitted = attack.fit(tiny_model, [], Budget("linf", 0.05), seed=0)
    with pytest.raises(BudgetViolation, match="exceeded the linf budget eps=0.05 on 4 of 4 examples"):
        _adversarial(attack, fitted, tiny_model, split, None, BatchSizer(8), "m", torch.device("cpu"))
    assert immediate == [] and judged == [8, 8, 4]
