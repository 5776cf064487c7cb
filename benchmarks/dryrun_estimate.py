"""`bench run --dry-run`'s time estimate against finished runs: per (attack, budget, source) group, the
estimate with every fit still to do (a cache holding only the zoo), with and without the generators'
own measured steps (`Attack.fit_extra_seconds`), beside what the run measured (its fit seconds plus
each cell's perturbation and scoring seconds, from `timings.csv`).

    python benchmarks/dryrun_estimate.py configs/peers-gap-loss.toml=reports/runs/peers-gap-loss-20261128 \\
        quickstart=reports/runs/<quickstart run>

Each argument is CONFIG=RUN_DIR (`quickstart`: the default run, no config file). Run it on the machine
the runs were measured on, with nothing else running. Writes JSON; asserts nothing.
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench  # noqa: E402
import bench.dryrun  # noqa: E402
import zoo  # noqa: E402
from benchlib import write_result  # noqa: E402

ROW = re.compile(r"^(?P<attack>\S+)\s+(?P<norm>linf|l2) (?P<eps>\S+)\s+(?P<source>\S+)\s+\d+\s+\d+\s+(?:cached|to fit)?"
                 r"\s+(?:<=)?[\d,]+\s+(?P<est>[\d.]+)$")


def estimates(config: str | None, cache: Path, generators: bool, ranking: bool = True,
              **overrides: object) -> dict[tuple[str, str, str], float]:
    """Per group, the dry run's estimated seconds (all fits to do); without `generators` or `ranking`,
    as it was before it counted a generator's own steps or a fit's ranking of the classes."""
    probe, ranked = bench.dryrun.generator_probe, bench.dryrun.ranking_images
    if not generators:  # the source model's passes only
        bench.dryrun.generator_probe = lambda x, n: (lambda g: 0.0)
    if not ranking:
        bench.dryrun.ranking_images = lambda n_fit, n_cls: (0, 0)
    try:
        plan = bench.run(config, dry_run=True, cache_dir=str(cache), log=None, **overrides).plan
    finally:
        bench.dryrun.generator_probe, bench.dryrun.ranking_images = probe, ranked
    return plan_estimates(plan)


def plan_estimates(plan: str) -> dict[tuple[str, str, str], float]:
    """Per (attack, eps, source) row of a dry run's table, its estimated seconds."""
    return {(m["attack"], m["eps"], m["source"]): float(m["est"])
            for m in (ROW.match(line) for line in plan.splitlines()) if m}


def measured(run: Path) -> dict[tuple[str, str, str], float]:
    """Per group, the run's fit seconds (once) plus its cells' perturbation and scoring seconds."""
    t = pd.read_csv(run / "timings.csv")
    out = {}
    for (attack, eps, source), g in t.groupby(["attack", "eps", "source"]):
        key = (attack, format(float(eps), ".4g"), source)  # the eps as the dry run's table prints it
        out[key] = float(g.fit_seconds.iloc[0] + g.perturb_seconds.sum() + g.score_seconds.sum())
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("pairs", nargs="+", help="CONFIG=RUN_DIR (CONFIG `quickstart` for the default run)")
    p.add_argument("--repeats", type=int, default=3, help="dry runs per config (the estimate is itself timed)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "dryrun_estimate.json"))
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        (cache / "zoo").symlink_to(zoo.cache_root(None) / "zoo")  # the trained zoo, no fits
        rows = []
        for pair in a.pairs:
            config, run = pair.split("=", 1)
            config = None if config == "quickstart" else config
            for repeat in range(a.repeats):
                before, now = estimates(config, cache, False), estimates(config, cache, True)
                for key, seconds in measured(Path(run)).items():
                    rows.append({"config": config or "quickstart", "repeat": repeat, "attack": key[0],
                                 "eps": float(key[1]), "source": key[2], "measured_s": round(seconds, 1),
                                 "estimate_before_s": before[key], "estimate_s": now[key]})
    df = pd.DataFrame(rows)
    sums = df.groupby(["config", "attack", "repeat"])[["measured_s", "estimate_before_s", "estimate_s"]].sum()
    sums["ratio_before"] = sums.estimate_before_s / sums.measured_s
    sums["ratio"] = sums.estimate_s / sums.measured_s
    per_attack = sums.groupby(["config", "attack"]).agg(
        measured_s=("measured_s", "first"), ratio_before_min=("ratio_before", "min"),
        ratio_before_max=("ratio_before", "max"), ratio_min=("ratio", "min"), ratio_max=("ratio", "max")).round(2)
    print(per_attack.to_string())
    totals = df.groupby("repeat")[["measured_s", "estimate_before_s", "estimate_s"]].sum().round(1)
    write_result({"benchmark": "dryrun_estimate", "runs": a.pairs, "repeats": a.repeats, "groups": rows,
                  "per_attack": per_attack.reset_index().to_dict("records"),
                  "totals_per_repeat": totals.reset_index().to_dict("records")}, a.out)


if __name__ == "__main__":
    main()
