"""`configs/imagenet.toml` scaled down by --scale, end to end, with where its time goes, and the full
config's time projected from it (issue 18: "the ImageNet grid in 30 minutes").

The models are the config's own, random-initialised (seed 0): no weights reach these machines, and the
cost is the same. The images are a generated folder of JPEGs in the ImageNet val layout (synset
folders, 320x256). Scaled: `n`, `n_fit` and VizPert's fit steps divided by --scale; every cell of the
grid is kept (same models, budgets, modes and attacks). UAP's fit cost scales with `n_fit` (passes over
the fit images), PGD/FGSM and evaluation with `n`, decoding with `n + n_fit`.

Projection: the phases that grow with the images (data, fits, perturbation, evaluation) times --scale,
plus the fixed ones (zoo, sanity, reports) as measured; with --eps, the grid's phases (fits, cells,
reports) also times the config's budgets over the ones run. It over-counts what does not grow with the
images (a fit's class outputs and screening of 1000 classes, a few example images per cell), so it is
an upper bound in that respect; "fits_unscaled" gives the bound with the fits counted once, and
"evaluation_split" scales only the cells' scoring time (`score_seconds` in timings.csv) with the images,
the rest of the evaluation phase not. A projection, not a measurement.

    python benchmarks/imagenet_phases.py --device cuda --scale 20
    python benchmarks/imagenet_phases.py --device cpu --scale 1000 --models timm:resnet18   # a smoke test

With --full-estimate (the default), the full config is also dry-run (on small JPEGs: the dry run times
passes, forwards and generator steps, not pixels) and projected through its estimate, each group's calibrated by
its attack and source's measured/estimated ratio in the scaled run: a second projection, from what each
fit and cell does at full size rather than from the scaled run's phases times --scale.

Before the run, `bench run --dry-run` plans the same scaled grid; its estimate (a generator fit's steps
measured, UAP's passes an upper bound) is recorded beside the run's measured fits + perturbation +
evaluation, to check the dry run's estimate at 224x224 where it matters most.

Writes JSON (phase seconds, the projection, the run's wall time, the dry run's plan); asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import attacks  # noqa: E402
import bench  # noqa: E402
from bench.phases import PHASES  # noqa: E402
from benchlib import write_result  # noqa: E402
from dryrun_estimate import measured, plan_estimates  # noqa: E402

GROWS = ("data", "fits", "perturbation", "evaluation")  # phases proportional to the images (or fit steps)
GRID = ("fits", "perturbation", "evaluation", "reports")  # phases proportional to the number of budgets


def make_folder(root: Path, files: int, classes: int, seed: int = 0, size: tuple[int, int] = (256, 320)) -> None:
    """`files` random JPEGs (height x width `size`) spread over the first `classes` ImageNet synsets."""
    from timm.data import ImageNetInfo

    synsets = ImageNetInfo().label_names()[:classes]
    rng = np.random.default_rng(seed)
    for i in range(files):
        d = root / synsets[i % classes]
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(d / f"{i}.JPEG", quality=90)


def estimated_seconds(plan: str) -> float:
    """The total of a dry run's plan (`estimated compute: N s`)."""
    return float(re.search(r"estimated compute: (\d+) s", plan).group(1))


def build_parser() -> argparse.ArgumentParser:
    """The command line (tests/test_gpu_check.py parses gpu_check.sh's commands with it)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=str(ROOT / "configs" / "imagenet.toml"))
    p.add_argument("--scale", type=int, default=20, help="divide n, n_fit and VizPert's steps by this")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--models", default="", help="comma-separated models instead of the config's")
    p.add_argument("--eps", default="", help="comma-separated budgets instead of the config's (the projection "
                   "multiplies the grid's phases by the config's count over these)")
    p.add_argument("--amp", default=None, help="override the config's amp (none, bf16)")
    p.add_argument("--compile", action="store_true", help="run with compile = true")
    p.add_argument("--full-estimate", action=argparse.BooleanOptionalAction, default=True,
                   help="also dry-run the full config (small JPEGs: only the timings matter) and project it "
                        "through the dry run, calibrated by the scaled run's measured/estimated ratios")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "imagenet_phases.json"))
    return p


def main() -> None:
    a = build_parser().parse_args()
    full = tomllib.loads(Path(a.config).read_text())
    n, n_fit = max(full["n"] // a.scale, 1), max(full["n_fit"] // a.scale, 1)
    steps = max(attacks.create("vizpert").params["steps"] // a.scale, 1)  # G(c)'s default fit steps, scaled

    def scaled(item: str | dict) -> str | dict:
        """VizPert, given by name or as a table (its other parameters kept), with the scaled steps."""
        table = {"name": item} if isinstance(item, str) else dict(item)
        return {**table, "steps": steps} if table["name"] == "vizpert" else item

    grid_attacks = [scaled(x) for x in full["attacks"]]
    models = [m for m in a.models.split(",") if m] or full["models"]
    eps = [e for e in a.eps.split(",") if e] or full["eps"]
    grid_scale = len(full["eps"]) / len(eps)  # fits, cells: one set per budget
    options = {"pretrained": False, "n": n, "n_fit": n_fit, "attacks": grid_attacks, "models": models,
               "eps": eps, "device": a.device, "run_id": "imagenet-phases", "compile": a.compile}
    if a.amp is not None:
        options["amp"] = a.amp
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "val"
        make_folder(folder, 2 * max(n, n_fit), classes=min(100, max(n, n_fit)))
        where = dict(dataset=f"imagefolder:{folder}", output=str(Path(tmp) / "runs"), cache_dir=str(Path(tmp) / "cache"))
        # the dry run's estimate of the same scaled grid first, to set beside what the run then measures
        plan = bench.run(a.config, dry_run=True, log=None, **where, **options).plan
        result = bench.run(a.config, **where, **options)
        manifest = json.loads((result.run_dir / "manifest.json").read_text())
        scoring = float(pd.read_csv(result.run_dir / "timings.csv").score_seconds.sum())
        group_seconds = measured(result.run_dir)
        full_plan = full_estimate(a, full, Path(tmp), models, options) if a.full_estimate else None
    phases = manifest["phase_seconds"]
    projected = {k: round(v * (a.scale if k in GROWS else 1) * (grid_scale if k in GRID else 1), 1)
                 for k, v in phases.items()}
    # evaluation split: scoring (every model's predictions and the distances) grows with the images, the
    # rest of it (example images, stored rows) comes per cell
    compute_seconds = round(sum(phases.get(k, 0.0) for k in ("fits", "perturbation", "evaluation")), 1)
    evaluation_split = round((scoring * a.scale + max(phases.get("evaluation", 0.0) - scoring, 0.0)) * grid_scale, 1)
    write_result({
        "benchmark": "imagenet_phases", "config": str(Path(a.config).relative_to(ROOT)), "scale": a.scale,
        "device": manifest["device"], "models": models, "weights": "random init (seed 0)",
        "scaled": {"n": n, "n_fit": n_fit, "vizpert_steps": steps, "eps": eps, "cells": manifest["cells"]["computed"],
                   "failed": len(manifest["cells"]["failed"]), "amp": manifest["config"]["amp"],
                   "compile": manifest["config"]["compile"], "batch_fallbacks": manifest["batch_fallbacks"]},
        "phase_seconds": {k: phases[k] for k in PHASES if k in phases},
        "wall_seconds": manifest["wall_seconds"],
        "projected_full_seconds": projected,
        "projected_full_minutes": round(sum(projected.values()) / 60, 1),
        "projected_full_minutes_fits_unscaled": round((sum(projected.values()) - projected.get("fits", 0)
                                                       + phases.get("fits", 0) * grid_scale) / 60, 1),
        "scoring_seconds": round(scoring, 1),
        "projected_full_minutes_evaluation_split": round((sum(projected.values()) - projected.get("evaluation", 0)
                                                          + evaluation_split) / 60, 1),
        "dominant_phase": max(projected, key=projected.get),
        # `bench run --dry-run` on the same scaled grid (a generator's step measured, UAP's passes an upper
        # bound) against the run's fits + perturbation + evaluation
        "dry_run_estimate_seconds": estimated_seconds(plan),
        "measured_compute_seconds": compute_seconds,
        "dry_run_plan": plan.splitlines(),
        **full_projection(full_plan, plan, group_seconds, phases, a.scale, grid_scale, scoring),
        "note": "projection: phases that grow with the images x scale, the others as measured",
    }, a.out)


def full_estimate(a: argparse.Namespace, full: dict, tmp: Path, models: list[str], options: dict) -> str:
    """`bench run --dry-run` of the unscaled config (its n, n_fit, budgets and attacks; the same models,
    device, amp and compile) on a folder of small JPEGs, resized to the models' input like any image:
    the dry run times passes, forwards and generator steps, whatever the pixels."""
    folder = tmp / "val-full"
    make_folder(folder, 2 * max(full["n"], full["n_fit"]), classes=100, size=(32, 32))
    unscaled = {**options, "n": full["n"], "n_fit": full["n_fit"], "attacks": full["attacks"], "eps": full["eps"],
                "run_id": "imagenet-full-plan"}
    return bench.run(a.config, dry_run=True, log=None, dataset=f"imagefolder:{folder}", output=str(tmp / "runs"),
                     cache_dir=str(tmp / "cache-full"), **unscaled).plan


def by_attack_and_source(seconds: dict[tuple[str, str, str], float]) -> dict[tuple[str, str], float]:
    """Per-(attack, eps, source) seconds summed over the budgets."""
    out: dict[tuple[str, str], float] = {}
    for (attack, _eps, source), s in seconds.items():
        out[(attack, source)] = out.get((attack, source), 0.0) + s
    return out


def full_projection(plan: str | None, scaled_plan: str, group_seconds: dict[tuple[str, str, str], float],
                    phases: dict[str, float], scale: int, grid_scale: float, scoring: float) -> dict:
    """The full config's time through its dry run: each group's estimate times its attack and source's
    measured/estimated ratio in the scaled run (`group_seconds`, from `dryrun_estimate.measured`; the
    dry run's error there: UAP's pass count is an upper bound, and a DeepFool fit that reaches its rate
    early is far under it), plus what the dry run does not estimate (data x scale; zoo, sanity as
    measured; reports and the evaluation beyond scoring per budget). A projection too: the ratios come
    from a grid where fixed costs weigh more."""
    if plan is None:
        return {}
    taken = by_attack_and_source(group_seconds)
    estimated = by_attack_and_source(plan_estimates(scaled_plan))
    ratio = {k: taken.get(k, 0.0) / max(v, 1e-9) for k, v in estimated.items()}
    compute = sum(seconds * ratio.get((attack, source), 1.0)
                  for (attack, _eps, source), seconds in plan_estimates(plan).items())
    other = (phases.get("data", 0.0) * scale + phases.get("zoo", 0.0) + phases.get("sanity", 0.0)
             + (phases.get("reports", 0.0) + max(phases.get("evaluation", 0.0) - scoring, 0.0)) * grid_scale)
    return {"full_dry_run_estimate_seconds": estimated_seconds(plan),
            "dry_run_ratio_measured_over_estimated": {f"{a} on {s}": round(r, 3) for (a, s), r in ratio.items()},
            "projected_full_minutes_dry_run": round((estimated_seconds(plan) + other) / 60, 1),
            "projected_full_minutes_dry_run_calibrated": round((compute + other) / 60, 1),
            "full_dry_run_plan": plan.splitlines()}


if __name__ == "__main__":
    main()
