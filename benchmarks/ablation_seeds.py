"""A VizPert ablation over three fit seeds, each variant tested against its reference over the seeds
and over the images (`reports.compare.over_seeds`): does a switch change the attack, or only the draw
of one seed? Runs (or resumes) the grid, then writes the means, the per-seed rates and the comparisons.

    .venv/bin/python benchmarks/ablation_seeds.py [--output reports/runs --run-id ablation-seeds]
        # configs/vizpert-ablation.toml -> benchmarks/results/ablation_seeds.json
    .venv/bin/python benchmarks/ablation_seeds.py --config vizpert-depth-ablation
        # the label blocks in a deep generator -> benchmarks/results/ablation_seeds_depth.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

import bench
from bench.runfolder import stored_rows
from benchlib import write_result
from reports import compare_attacks, over_seeds, rows_frame
from reports.tables import ablation_table, seeds_table

ROOT = Path(__file__).resolve().parents[1]
# config in configs/ -> (result file, default run id, the (A, B) pairs compared: B against its reference A)
ABLATIONS = {
    "vizpert-ablation": ("ablation_seeds.json", "ablation-seeds", [
        ("vizpert", "vizpert-input-only"), ("vizpert", "vizpert-trainable"), ("vizpert", "vizpert-visualize"),
        ("vizpert-visualize", "vizpert-visualize-input-only")]),
    "vizpert-depth-ablation": ("ablation_seeds_depth.json", "ablation-seeds-depth", [
        ("vizpert-deep-input-only", "vizpert-deep"), ("vizpert", "vizpert-deep"),
        ("vizpert", "vizpert-deep-input-only")]),
}


def pair_result(df, a: str, b: str) -> dict:
    """The comparison of B against A: verdict counts over all 18 cells, per-seed test counts, and the
    white-box cells in full (percentage points)."""
    cells = compare_attacks(df, a, b)
    seeds = over_seeds(cells)
    wb = seeds[seeds.source == seeds.target]
    pts = ["rate_a", "rate_b", "diff", "diff_sd", "seed_lo", "seed_hi", "image_lo", "image_hi"]
    return {
        "a": a, "b": b, "cells": len(seeds), "verdicts": seeds.verdict.value_counts().to_dict(),
        "per_seed_tests": {"b_ahead": int(seeds.seeds_b_ahead.sum()), "a_ahead": int(seeds.seeds_a_ahead.sum()),
                           "not_significant": int(seeds.seeds_ns.sum())},
        "cells_where_significant_seeds_disagree": int(((seeds.seeds_b_ahead > 0) & (seeds.seeds_a_ahead > 0)).sum()),
        "held_cells": [{**{k: r[k] for k in ("source", "target", "targeted", "verdict")},
                        **{k: round(float(r[k]) * 100, 2) for k in pts}}
                       for _, r in seeds[seeds.verdict != "n.s."].iterrows()],
        "whitebox": [{**{k: r[k] for k in ("source", "targeted", "verdict")},
                      **{k: round(float(r[k]) * 100, 2) for k in pts},
                      "per_seed_b_a_ns": [int(r.seeds_b_ahead), int(r.seeds_a_ahead), int(r.seeds_ns)]}
                     for _, r in wb.iterrows()],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="vizpert-ablation", choices=sorted(ABLATIONS))
    p.add_argument("--output", default="reports/runs")
    p.add_argument("--run-id", default=None, help="default: the ablation's own (ablation-seeds, ablation-seeds-depth)")
    a = p.parse_args()
    result_name, default_run_id, pairs = ABLATIONS[a.config]
    run_id = a.run_id or default_run_id
    config = ROOT / "configs" / f"{a.config}.toml"
    result = bench.run(config, output=a.output, run_id=run_id)
    timings = pd.read_csv(result.run_dir / "timings.csv")  # a cached fit's row keeps its fit's seconds
    df = rows_frame(stored_rows(result.run_dir))
    abl = ablation_table(df).drop(columns="params")
    write_result({
        "command": f"bench run --config configs/{a.config}.toml (run folder {result.run_dir})",
        "seeds": sorted(int(s) for s in df.seed.unique()), "n_eval": int(df.n.iloc[0]),
        "fit_seconds_mean_by_variant": timings.groupby("attack", sort=False).fit_seconds.mean().round(1).to_dict(),
        "fit_machine": sorted(set(timings.machine.dropna())),
        "ablation_mean_over_seeds": json.loads(abl.round(2).to_json(orient="records")),
        "per_seed_whitebox": json.loads(seeds_table(df).round(2).to_json(orient="records")),
        "comparisons": [pair_result(df, x, y) for x, y in pairs],
    }, Path(__file__).parent / "results" / result_name)


if __name__ == "__main__":
    main()
