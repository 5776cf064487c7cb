"""Several attack seeds (issue 16): learned attacks repeated per seed on the same images, seed 0's
cells the same as a single-seed run's, and the tables' mean and sd over seeds."""
from __future__ import annotations

import pandas as pd
import pytest

import bench
from bench.config import RunConfig
from bench.errors import BenchError
from reports import TIMING_COLUMNS


@pytest.mark.slow  # two seeded runs of a learned attack: kept out of the 5-minute fast pass
def test_two_seeds_give_their_own_rows_and_a_mean_and_sd(tmp_path, zoo_cache):
    common = dict(dataset="synthetic", models=["mini:vgg", "mini:resnet"], attacks=[{"name": "sgd_uap", "steps": 30}],
                  n=80, n_fit=64, mode="untargeted", cache_dir=str(zoo_cache), output=str(tmp_path), log=None)
    single = bench.run(**common, run_id="one").results()
    both = bench.run(**common, run_id="two", seeds=[0, 1])
    assert both.computed == 4 and not both.failures
    df = both.results()
    assert sorted(df.seed.unique()) == [0, 1] and len(df) == 2 * len(single)
    key = ["source", "target"]
    zero = df[df.seed == 0].drop(columns=TIMING_COLUMNS)
    ref = single.drop(columns=TIMING_COLUMNS)
    pd.testing.assert_frame_equal(zero.sort_values(key).reset_index(drop=True), ref.sort_values(key).reset_index(drop=True))
    per_seed = df.pivot_table(index=key, columns="seed", values="success_on_correct")
    assert (per_seed[0] != per_seed[1]).any()  # another fit seed, another delta
    seeds = pd.read_csv(both.run_dir / "seeds.csv")
    assert list(seeds.columns[-4:]) == ["seed 0", "seed 1", "seed_mean", "seed_sd"]
    assert seeds.seed_sd.iloc[0] > 0 and "Across attack seeds" in both.markdown
    summary = both.summary()
    assert summary.success_whitebox.iloc[0] == pytest.approx(100 * df[df.whitebox].success_on_correct.mean())


@pytest.mark.parametrize("value,message", [("0,x", "seeds must be integers"), ([1, 1], "repeats a seed"),
                                           ([], "seeds is empty")])
def test_bad_seeds_are_one_line_errors(value, message):
    with pytest.raises(BenchError, match=message):
        RunConfig(seeds=value)


def test_seeds_from_the_command_line_and_toml(tmp_path):
    from bench.configfile import resolve_config

    toml = tmp_path / "s.toml"
    toml.write_text("seeds = [0, 2]\n")
    assert resolve_config(toml).attack_seeds == (0, 2)
    assert resolve_config(None, {"seeds": "3,4"}).attack_seeds == (3, 4)
    assert RunConfig(seed=5).attack_seeds == (5,)
