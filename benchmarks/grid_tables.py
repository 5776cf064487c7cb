"""Per-attack comparison of one finished run folder (the README's peers and defended tables), from the
files `bench run` wrote: white-box and mean-transfer success (untargeted: on correctly classified
images; targeted: target hits), SSIM, fit seconds summed over sources, perturbation images/s, the
run's wall time, and per-source white-box untargeted success; where the run scored robust accuracy
(`robust.csv`), robust accuracy per target (lowest over the sources that attacked it) with each
target's clean accuracy, and the gap to AutoAttack's (`autoattack_gap.csv`).

    python benchmarks/grid_tables.py reports/runs/peers-20261127b --out benchmarks/results/peers.json

Writes JSON and prints the Markdown tables; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from benchlib import write_result  # noqa: E402
from common.text import speed_text  # noqa: E402


def _pm(mean: float, lo: float, hi: float) -> str:
    if pd.isna(mean):
        return "-"
    return f"{mean:.1f} ± {(hi - lo) / 2:.1f}" if not pd.isna(lo) else f"{mean:.1f}"


def tables(run: Path) -> dict:
    summary = pd.read_csv(run / "summary.csv")
    timings = pd.read_csv(run / "timings.csv")
    results = pd.read_csv(run / "results.csv")
    manifest = json.loads((run / "manifest.json").read_text())
    fits = timings.groupby(["attack", "source"]).fit_seconds.max().groupby("attack").sum()
    order = list(dict.fromkeys(summary.attack))
    wb = results[(results.source == results.target) & ~results.targeted]
    per_source = wb.pivot_table(index="attack", columns="source", values="success_on_correct") * 100
    per_source = per_source[[s for s in dict.fromkeys(results.source) if s in per_source.columns]]
    rows = []
    for _, r in summary.iterrows():
        a = r.attack
        rows.append({
            "attack": a,
            "whitebox_untargeted": _pm(r.success_whitebox, r.success_whitebox_lo, r.success_whitebox_hi),
            "transfer_untargeted": _pm(r.success_transfer, r.success_transfer_lo, r.success_transfer_hi),
            "whitebox_targeted": _pm(r.targeted_whitebox, r.targeted_whitebox_lo, r.targeted_whitebox_hi),
            "transfer_targeted": _pm(r.targeted_transfer, r.targeted_transfer_lo, r.targeted_transfer_hi),
            "robust_whitebox": _pm(r.robust_whitebox, r.robust_whitebox_lo, r.robust_whitebox_hi),
            "ssim": round(float(r.ssim), 3), "fit_seconds": round(float(fits.get(a, 0.0)), 1),
            "images_per_second": round(float(r.images_per_s), 1),
            "whitebox_untargeted_per_source": {s: round(float(v), 1) for s, v in per_source.loc[a].items()
                                               if not pd.isna(v)} if a in per_source.index else {},
        })
    robust = robust_table(run, results)
    text = markdown(rows) + ("\n\n" + robust_markdown(robust) if robust else "")
    return {"benchmark": "grid_tables", "run": str(run), "command": manifest.get("command"),
            "wall_seconds": manifest.get("wall_seconds"), "device": manifest.get("device", {}).get("device"),
            "git_commit": manifest.get("git_commit"), "attacks": order, "rows": rows,
            "robust_per_target": robust, "markdown": text}


def robust_table(run: Path, results: pd.DataFrame) -> dict | None:
    """Clean accuracy and robust accuracy per target (%, with half-interval), and the gap to AutoAttack's
    in points, from the run's own tables; None where the run has no robust.csv."""
    if not (run / "robust.csv").is_file():
        return None
    robust = pd.read_csv(run / "robust.csv")
    targets = [c for c in robust.columns if c not in ("attack", "norm", "eps") and not c.endswith(("_lo", "_hi"))]
    clean = results.groupby("target").agg(clean_acc=("clean_acc", "first"), lo=("clean_acc_lo", "first"),
                                          hi=("clean_acc_hi", "first")) * 100
    out = {"targets": targets,
           "clean": {t: _pm(*clean.loc[t, ["clean_acc", "lo", "hi"]]) for t in targets if t in clean.index},
           "robust": {r.attack: {t: _pm(r[t], r.get(f"{t}_lo"), r.get(f"{t}_hi")) for t in targets}
                      for _, r in robust.iterrows()}}
    if (run / "autoattack_gap.csv").is_file():
        gap = pd.read_csv(run / "autoattack_gap.csv")
        out["gap_to_autoattack"] = {r.attack: {t: None if pd.isna(r[t]) else round(float(r[t]), 1)
                                               for t in targets if t in gap.columns} for _, r in gap.iterrows()}
    return out


def robust_markdown(robust: dict) -> str:
    targets = robust["targets"]
    lines = ["| attack | " + " | ".join(targets) + " |", "|---|" + "---|" * len(targets),
             "| clean | " + " | ".join(robust["clean"].get(t, "-") for t in targets) + " |"]
    for attack, per in robust["robust"].items():
        lines.append(f"| `{attack}` | " + " | ".join(per.get(t, "-") for t in targets) + " |")
    gaps = robust.get("gap_to_autoattack")
    if gaps:
        lines += ["", "| robust minus AutoAttack's (points) | " + " | ".join(targets) + " |",
                  "|---|" + "---|" * len(targets)]
        for attack, per in gaps.items():
            lines.append(f"| `{attack}` | " + " | ".join("-" if per.get(t) is None else f"{per[t]:+.1f}"
                                                         for t in targets) + " |")
    return "\n".join(lines)


def markdown(rows: list[dict]) -> str:
    sources = list(dict.fromkeys(s for r in rows for s in r["whitebox_untargeted_per_source"]))
    head = ["attack", "white-box untargeted", "mean transfer untargeted", "white-box targeted",
            "mean transfer targeted", "SSIM", "fit s (all sources)", "images/s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append("| " + " | ".join([f"`{r['attack']}`", r["whitebox_untargeted"], r["transfer_untargeted"],
                                        r["whitebox_targeted"], r["transfer_targeted"], f"{r['ssim']:.3f}",
                                        f"{r['fit_seconds']:.0f}", speed_text(r['images_per_second'])]) + " |")
    lines += ["", "| attack | " + " | ".join(sources) + " |", "|---|" + "---|" * len(sources)]
    for r in rows:
        per = r["whitebox_untargeted_per_source"]
        lines.append(f"| `{r['attack']}` | " + " | ".join(f"{per[s]:.1f}" if s in per else "-" for s in sources)
                     + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path)
    p.add_argument("--out", default=None, help="JSON file (default benchmarks/results/<run name>.json)")
    a = p.parse_args()
    result = tables(a.run)
    write_result({k: v for k, v in result.items() if k != "markdown"},
                 a.out or ROOT / "benchmarks" / "results" / f"{a.run.name}.json")
    print(result["markdown"])


if __name__ == "__main__":
    main()
