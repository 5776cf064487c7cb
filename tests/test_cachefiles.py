"""`bench cache list|prune`: the fit cache as a user sees it, what a prune removes, and that a removed fit
is refitted by the next run."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import attacks
from attacks import Budget
from bench import cachefiles
from bench.cli import main
from conftest import cli_imports_torch
from bench.fitcache import fit_path, fit_with_cache
from common.text import age_text, size_text

DAY = 86400


@pytest.fixture()
def cache(tmp_path, tiny_model, fit_loader):
    """A cache holding two real fits: sgd_uap for dataset synthetic, model tiny, run seed 0 (fit seed 0), and uap
    with a card from before the run's seed was recorded."""
    for name, params, run_seed in (("sgd_uap", {"steps": 2}, 0), ("uap", {"max_passes": 1}, None)):
        fit_with_cache(attacks.create(name, **params), tiny_model, fit_loader, Budget("linf", 0.1), seed=0,
                       identity={"dataset": "synthetic", "source": "tiny"}, cache_dir=tmp_path, attack_seed=run_seed)
    return tmp_path


def _cli(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def _age(path: Path, days: float) -> None:
    """Make a fit (its card: the last use) look `days` days old."""
    then = time.time() - days * DAY
    os.utime(path.with_suffix(".json"), (then, then))


def test_list_names_each_fit_its_model_and_size(cache, capsys):
    code, out, _ = _cli(["cache", "list", "--cache-dir", str(cache)], capsys)
    assert code == 0 and f"fit cache {cache / 'fitted'}: 2 fits, " in out
    lines = {line.split()[1]: line for line in out.splitlines() if line[:16].isalnum() and len(line.split()) > 2}
    assert set(lines) == {"sgd_uap", "uap"}
    assert "linf 0.1  synthetic tiny seed 0" in lines["sgd_uap"] and "cpu, " in lines["sgd_uap"]
    assert "synthetic tiny fit seed 0" in lines["uap"]  # the derived seed, named as such
    assert "zoo weights" in out and "0 file(s)" in out


def test_a_run_fit_is_listed_with_the_run_seed_not_its_derived_one(tmp_path, zoo_cache, capsys):
    """A run's fit seed is derived from its seed, attack and model (1299657398 for a --seed 0 uap fit on mini:resnet):
    `bench cache list` showed that number where a user looks for the --seed they gave."""
    import shutil

    cache = tmp_path / "cache"  # the shared test cache's weights, without its fits
    shutil.copytree(zoo_cache, cache, ignore=lambda folder, names: ["fitted"] if "fitted" in names else [])
    code = main(["run", "--dataset", "synthetic", "--n", "20", "--n-fit", "20", "--models", "mini:vgg", "--attacks",
                 "sgd_uap[steps=2]", "--mode", "untargeted", "--seed", "3", "--format", "csv",
                 "--cache-dir", str(cache), "--output", str(tmp_path / "runs")])
    assert code == 0
    capsys.readouterr()
    _, out, _ = _cli(["cache", "list", "--cache-dir", str(cache)], capsys)
    (line,) = [line for line in out.splitlines() if " sgd_uap " in line]
    assert "synthetic mini:vgg seed 3 " in line


def test_a_cache_hit_counts_as_a_use_and_prune_goes_by_it(cache, tiny_model, fit_loader, capsys):
    attack, budget = attacks.create("sgd_uap", steps=2), Budget("linf", 0.1)
    ident = {"dataset": "synthetic", "source": "tiny"}
    path = fit_path(attack, budget, seed=0, identity=ident, cache_dir=cache)
    for p in cache.glob("fitted/*.json"):
        _age(p, 10)
    # reading sgd_uap's fit from the cache makes it recent; uap's stays 10 days old
    _, _, hit = fit_with_cache(attack, tiny_model, fit_loader, budget, seed=0, identity=ident, cache_dir=cache)
    assert hit and time.time() - path.with_suffix(".json").stat().st_mtime < 60
    code, out, _ = _cli(["cache", "prune", "--older-than", "7", "--dry-run", "--cache-dir", str(cache)], capsys)
    assert code == 0 and "would remove 1 fit(s)" in out and " uap " in out and "sgd_uap" not in out
    assert len(list(cache.glob("fitted/*"))) == 4  # a dry run removes nothing
    code, _, err = _cli(["cache", "prune", "--older-than", "7", "--cache-dir", str(cache)], capsys)
    assert code == 0 and "removed 1 fit(s)" in err and "freed" in err
    assert [e.attack for e in cachefiles.fit_entries(cache)] == ["sgd_uap"] and path.is_file()
    # a removed fit is no loss: the next use refits it
    code, _, _ = _cli(["cache", "prune", "--attack", "sgd_uap", "--cache-dir", str(cache)], capsys)
    assert code == 0 and not path.exists() and cachefiles.fit_entries(cache) == []
    _, _, hit = fit_with_cache(attack, tiny_model, fit_loader, budget, seed=0, identity=ident, cache_dir=cache)
    assert not hit and path.is_file()


def test_half_pairs_and_old_temporaries_go_with_any_prune(cache, capsys):
    fitted = cache / "fitted"
    orphan = fitted / "0123456789abcdef.safetensors"
    orphan.write_bytes(b"x" * 100)  # a run killed between the weights and the card
    old_tmp, new_tmp = fitted / ".a.safetensors.1.tmp", fitted / ".b.safetensors.2.tmp"
    for p in (old_tmp, new_tmp):
        p.write_bytes(b"y" * 10)
    os.utime(old_tmp, (time.time() - 2 * DAY,) * 2)  # a day-old write belongs to a killed run; a new one may not
    code, out, _ = _cli(["cache", "list", "--cache-dir", str(cache)], capsys)
    assert "(incomplete)" in out and "1 incomplete fit(s) and 1 temporary file(s)" in out
    code, _, err = _cli(["cache", "prune", "--attack", "uap", "--cache-dir", str(cache)], capsys)
    assert code == 0 and "removed 2 fit(s) and 1 temporary file(s)" in err
    assert not orphan.exists() and not old_tmp.exists() and new_tmp.exists()
    assert [e.attack for e in cachefiles.fit_entries(cache)] == ["sgd_uap"]


@pytest.mark.parametrize("args, needle", [
    (["prune"], "say which fits to remove: --attack NAME, --older-than DAYS, or --all"),
    (["prune", "--attack", "sgd-uap"], "holds no fit of attack 'sgd-uap'; did you mean 'sgd_uap'?"),
    (["prune", "--older-than", "-2"], "--older-than takes a number of days >= 0"),
    ([], "`bench cache` needs a subcommand: list or prune"),
])
def test_bad_cache_commands_are_one_line_and_remove_nothing(cache, capsys, args, needle):
    before = sorted(cache.glob("fitted/*"))
    try:
        code = main(["cache", *args] + (["--cache-dir", str(cache)] if args else []))
    except SystemExit as exc:  # argparse's usage errors exit
        code = exc.code
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and needle in err, err
    assert sorted(cache.glob("fitted/*")) == before


def test_all_removes_every_fit_and_an_empty_cache_lists_none(cache, capsys):
    code, _, err = _cli(["cache", "prune", "--all", "--cache-dir", str(cache)], capsys)
    assert code == 0 and "removed 2 fit(s)" in err
    code, out, _ = _cli(["cache", "list", "--cache-dir", str(cache / "nowhere")], capsys)
    assert code == 0 and ": 0 fits, 0 B" in out


def test_cache_list_answers_without_torch(cache):
    """Listing reads cards only: no torch import (about 10 s on two cores)."""
    assert not cli_imports_torch(["cache", "list", "--cache-dir", str(cache)])


def test_sizes_and_ages_read_as_people_write_them():
    assert [size_text(n) for n in (0, 999, 795_500, 743_424_184, 2_240_000_000)] == [
        "0 B", "999 B", "796 kB", "743 MB", "2.24 GB"]
    assert [age_text(s) for s in (30, 600, 5 * 3600, 3 * DAY)] == ["0 min", "10 min", "5 h", "3 d"]
