"""Half-width of the 95% Wilson interval against the number of eval images, for a few true rates:
README's table for sizing `--n` (computed, not measured: the interval depends only on k and n).

    .venv/bin/python benchmarks/interval_halfwidth.py   # -> benchmarks/results/interval_halfwidth.json
"""
from __future__ import annotations

import json
from pathlib import Path

from reports.stats import half_width_table
from reports.tables import to_markdown

SIZES = (100, 250, 500, 1000, 2000, 5000, 10000)
RATES = (0.5, 0.8, 0.9, 0.95, 0.99)


def main() -> None:
    table = half_width_table(SIZES, RATES)
    out = Path(__file__).parent / "results" / "interval_halfwidth.json"
    out.write_text(json.dumps({"what": "half-width (percentage points) of the 95% Wilson interval",
                               "rows": table.round(2).to_dict(orient="records")}, indent=2) + "\n")
    print(to_markdown(table))


if __name__ == "__main__":
    main()
