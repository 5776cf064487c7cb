"""`bench run --dry-run` against a measured run where a fit's ranking of the classes is most of its cost:
many classes (an imagefolder of generated JPEGs, more classes than the ranking's screen keeps),
class-universal fits with few steps. Per group: the estimate without the ranking's forward passes (as
it was), with them (now), and the run's measured seconds (its fit plus each cell's perturbation and
scoring, from `timings.csv`). The images are decoded at --size (the timm data config's input size is
overridden here) so that the whole check takes minutes on a CPU; the ranking's share does not depend on it.

    python benchmarks/dryrun_ranking.py            # a few minutes on two CPU cores

Run it with nothing else running. Writes JSON; asserts nothing.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench  # noqa: E402
import zoo  # noqa: E402
from benchlib import write_result  # noqa: E402
from dryrun_estimate import estimates, measured  # noqa: E402
from imagenet_phases import make_folder  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--classes", type=int, default=64, help="classes in the generated folder (above 32: screened)")
    p.add_argument("--model", default="timm:resnet10t")
    p.add_argument("--n-fit", type=int, default=128)
    p.add_argument("--size", type=int, default=32, help="image side the folder is decoded at")
    p.add_argument("--repeats", type=int, default=3, help="dry runs (the estimate is itself timed)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "dryrun_ranking.json"))
    a = p.parse_args()
    data_config = zoo.data_config
    zoo.data_config = lambda name: {**data_config(name), "input_size": [3, a.size, a.size]}
    # two class-universal fits that rank: few optimisation steps, so that the ranking dominates the fit
    grid = dict(models=[a.model], attacks=[{"name": "class_uap", "steps": 5}, {"name": "vizpert", "steps": 5}],
                eps=["8/255"], mode="untargeted", n=64, n_fit=a.n_fit, batch_size=64, device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_folder(root / "val", files=2 * (a.n_fit + 64), classes=a.classes)
        grid["dataset"] = f"imagefolder:{root / 'val'}"
        cache = root / "cache"
        rows = []
        for repeat in range(a.repeats):
            before = estimates(None, cache, True, ranking=False, **grid)
            now = estimates(None, cache, True, ranking=True, **grid)
            rows.append({"repeat": repeat, "before": before, "now": now})
        result = bench.run(cache_dir=str(cache), output=str(root / "runs"), log=None, **grid)
        seconds = measured(Path(result.run_dir))
    groups = [{"repeat": r["repeat"], "attack": k[0], "eps": float(k[1]), "source": k[2],
               "measured_s": round(seconds[k], 1), "estimate_without_ranking_s": r["before"][k],
               "estimate_s": r["now"][k]} for r in rows for k in seconds]
    df = pd.DataFrame(groups)
    df["ratio_without_ranking"] = (df.estimate_without_ranking_s / df.measured_s).round(2)
    df["ratio"] = (df.estimate_s / df.measured_s).round(2)
    print(df.to_string())
    write_result({"benchmark": "dryrun_ranking", "classes": a.classes, "model": a.model, "size": a.size,
                  "n_fit": a.n_fit, "grid": {k: v for k, v in grid.items() if k != "dataset"}, "repeats": a.repeats,
                  "groups": groups}, a.out)


if __name__ == "__main__":
    main()
