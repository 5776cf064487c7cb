"""What the benchmark scripts share: the trained mini zoo, interleaved timing and writing the JSON result."""
from __future__ import annotations

import json
import statistics
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

if TYPE_CHECKING:
    from torch import nn

    from bench.datatypes import Dataset


def trained_models(names: list[str], ds: Dataset, device: str = "cpu",
                   log: Callable[[str], None] = lambda _: None) -> dict[str, nn.Module]:
    """The zoo models `names` on `device`, the `mini:` ones trained first where the cache lacks them
    (minutes for the Fashion-MNIST zoo, once): what `bench run` does before its grid."""
    import torch

    from bench.models import load_models, train_missing

    train_missing(names, ds, log=log, device=device)
    return load_models(names, ds, torch.device(device))


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
