"""Per-attack comparison of one finished run folder (the README's peers and defended tables), from the
files `bench run` wrote: white-box and mean-transfer success (untargeted: on correctly classified
images; targeted: target hits), SSIM, fit seconds summed over sources, perturbation images/s, the
run's wall time, and per-source white-box untargeted success.

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
sys.path.insert(0, str(ROOT / "benchmarks"))

from benchlib import write_result  # noqa: E402


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
    return {"benchmark": "grid_tables", "run": str(run), "command": manifest.get("command"),
            "wall_seconds": manifest.get("wall_seconds"), "device": manifest.get("device", {}).get("device"),
            "git_commit": manifest.get("git_commit"), "attacks": order, "rows": rows,
            "markdown": markdown(rows)}


def markdown(rows: list[dict]) -> str:
    sources = list(dict.fromkeys(s for r in rows for s in r["whitebox_untargeted_per_source"]))
    head = ["attack", "white-box untargeted", "mean transfer untargeted", "white-box targeted",
            "mean transfer targeted", "SSIM", "fit s (all sources)", "images/s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append("| " + " | ".join([f"`{r['attack']}`", r["whitebox_untargeted"], r["transfer_untargeted"],
                                        r["whitebox_targeted"], r["transfer_targeted"], f"{r['ssim']:.3f}",
                                        f"{r['fit_seconds']:.0f}", f"{r['images_per_second']:,.0f}"]) + " |")
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
