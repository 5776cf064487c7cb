"""What a run gives back to Python: its folder, its stored results as pandas DataFrames, and the
report rendering. Returned by `bench.run` and `bench.load_run`; the CLI prints from it."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from common.eps import eps_text, parse_eps

from .errors import BenchError


@dataclass
class RunResult:
    """A run folder and what the run that produced it reported (empty for a loaded folder)."""

    run_dir: Path | None
    markdown: str = field(default="", repr=False)  # the Markdown summary printed by `bench run`
    computed: int = 0
    skipped: int = 0
    failures: list[Any] = field(default_factory=list)
    plan: str = field(default="", repr=False)  # the dry run's table (run_dir is None then)

    def _repr_markdown_(self) -> str:
        """A notebook shows a run's summary tables (a dry run's plan) where `repr` shows one line."""
        return self.markdown or (f"```\n{self.plan}\n```" if self.plan else f"run folder `{self.run_dir}`")

    def _folder(self) -> Path:
        from .rendering import require_reports

        if self.run_dir is None:
            raise BenchError("a dry run computes nothing; run without dry_run to get results")
        require_reports()
        return self.run_dir

    def results(self) -> pd.DataFrame:
        """Long form: one row per (attack, eps, norm, targeted, source, target, seed) with every metric,
        and the per-image outcome masks (`outcomes`) the statistics are computed from."""
        from reports import rows_frame

        from .runfolder import stored_rows

        return rows_frame(stored_rows(self._folder()))

    def summary(self) -> pd.DataFrame:
        """One row per attack x eps: white-box and mean transfer rates with 95% bounds (`_lo`, `_hi`),
        SSIM, PSNR, images/s."""
        from reports import summary_table

        return summary_table(self.results())

    def transfer(self, attack: str, eps: float | str, *, targeted: bool = False,
                 norm: str | None = None) -> pd.DataFrame:
        """Sources (rows) x targets (columns) for one attack label and eps: success on correctly
        classified images, or targeted success for targeted cells (percent, mean over seeds). `eps` as
        the command line takes it: 0.1 or "8/255"."""
        from reports.tables import transfer_matrix

        df = self.results()
        norms = sorted(set(df["norm"])) if norm is None else [norm]
        if len(norms) != 1:
            raise BenchError(f"the run has norms {', '.join(norms)}; pass norm=")
        try:
            eps = parse_eps(eps)
        except ValueError as exc:  # "8/255" is an eps as the command line takes it; "abc" is none
            raise BenchError(str(exc)) from None
        m = transfer_matrix(df, attack, eps, norms[0], targeted)
        if m.empty:
            if not transfer_matrix(df, attack, eps, norms[0], not targeted).empty:
                raise BenchError(f"{attack!r} at eps {eps_text(eps)} ran {'untargeted' if targeted else 'targeted'} "
                                 f"only in this run; pass targeted={not targeted}")
            have = sorted(set(zip(df["attack"], df["eps"])))
            raise BenchError(f"no cells for attack {attack!r} at eps {eps_text(eps)} "
                             f"({'targeted' if targeted else 'untargeted'}); "
                             f"the run has {', '.join(f'{a}@{eps_text(e)}' for a, e in have)}")
        return m

    def render(self, formats: str | Sequence[str] | None = None) -> str:
        """(Re-)write the run's tables, figures and pages from its stored cells; returns the Markdown summary.
        `formats`: as `--format` (["csv", "html"] or "csv,html"; default $BENCH_FORMAT, else all)."""
        from .rendering import render

        return render(self._folder(), formats)


def load_run(path: str | Path) -> RunResult:
    """A finished (or partial) run folder made by `bench run` or `bench.run`."""
    from .runfolder import require_stored

    run_dir = Path(path)
    require_stored(run_dir)
    return RunResult(run_dir)
