"""What the benchmark scripts share: interleaved timing and writing the JSON result."""
from __future__ import annotations

import json
import statistics
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator


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


@contextmanager
def baseline_tree(repo: Path, revision: str, where: Path) -> Iterator[Path]:
    """`revision` of `repo` checked out at `where` (a detached git worktree) while the block runs, then
    removed: the code a benchmark compares this tree with."""
    subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", str(where), revision], check=True,
                   capture_output=True)
    try:
        yield where
    finally:
        subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(where)], capture_output=True)


def write_result(result: dict, out: str | Path) -> None:
    """Write the result as JSON to `out` and print it."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
