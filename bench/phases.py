"""Wall time per phase of a run (data, zoo, sanity, fits, perturbation, evaluation, reports), so a
slow grid says where its time goes; written to the manifest and logged at the end of `bench run`."""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator

# the order a run goes through them; `evaluation` is the grid's time outside fits and perturbation
# (predictions on every target model, SSIM/PSNR, examples, writing the store)
PHASES = ("data", "zoo", "sanity", "fits", "perturbation", "evaluation", "reports")


class PhaseClock:
    """Seconds per named phase; a phase timed twice adds up."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the block as phase `name` (counted also when it raises)."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - t0)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def split_grid(self, grid_seconds: float, fit_seconds: float, perturb_seconds: float) -> None:
        """Book the grid's wall time as fits, perturbation and the rest (evaluation). With a parallel
        executor the fits and perturbations of several workers overlap, so the rest is floored at 0."""
        self.add("fits", fit_seconds)
        self.add("perturbation", perturb_seconds)
        self.add("evaluation", max(grid_seconds - fit_seconds - perturb_seconds, 0.0))

    def as_dict(self) -> dict[str, float]:
        """Seconds per phase in run order (phases not reached are left out), rounded to 10 ms."""
        return {k: round(self.seconds[k], 2) for k in PHASES if k in self.seconds}

    def text(self) -> str:
        """One log line: each phase's seconds and share of the total."""
        d = self.as_dict()
        total = sum(d.values()) or 1.0
        return "time per phase: " + ", ".join(f"{k} {v:.1f} s ({100 * v / total:.0f}%)" for k, v in d.items())
