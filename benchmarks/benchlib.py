"""What the benchmark scripts share: interleaved timing and writing the JSON result."""
from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Callable


def interleaved_medians(runs: dict[str, Callable[[], None]], repeats: int) -> dict[str, float]:
    """Median seconds of each run, after one warm-up each, with the runs interleaved so that
    machine drift hits all of them alike."""
    for fn in runs.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(repeats):
        for key, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def write_result(result: dict, out: str | Path) -> None:
    """Write the result as JSON to `out` and print it."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
