"""Re-rendering a run folder's reports (tables, figures, report.tex/PDF, summary.md, index.html)
from its stored cells: after a run, by `bench report`, by `bench merge` and by `RunResult.render`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import reports  # imported here, before a run creates ./reports/runs (see `require_reports`)

from .config import report_formats
from .errors import BenchError
from .logs import Log, log_stderr


def require_reports() -> None:
    """A one-line error, not an ImportError, when a folder named `reports` in the working directory
    (the default output, reports/runs) shadows the `reports` package: an editable install in
    setuptools' default mode maps packages by a finder that comes after the working directory."""
    if getattr(reports, "__file__", None) is None:
        raise BenchError("the folder ./reports in the working directory hides the `reports` package (an editable "
                         "install in finder mode); reinstall with `pip install -e . --config-settings "
                         "editable_mode=compat` (the README's command) or `pip install .`, or run from another folder")


def render(run_dir: Path, formats: str | Sequence[str] | None = None, *, log: Log = log_stderr) -> str:
    """Tables, figures, report.tex/PDF, summary.md and index.html of a run folder from its stored
    cells and files; returns the Markdown summary (with the sanity warnings). `formats`: a list or a
    comma string as `--format` takes (checked here: a bad one is a BenchError before anything is written)."""
    # a list from Python goes through the same parsing as the flag (aliases, typos, "all"); [] is empty, not all
    formats = report_formats(formats if formats is None or isinstance(formats, str) else ",".join(formats) or ",")
    require_reports()
    from reports import render_run, rows_frame

    from .runfolder import stored_rows

    df = rows_frame(stored_rows(run_dir))
    sanity = run_dir / "sanity.json"
    warnings = [w["message"] for w in json.loads(sanity.read_text())] if sanity.is_file() else []
    manifest = run_dir / "manifest.json"
    classes = json.loads(manifest.read_text()).get("dataset", {}).get("classes", []) if manifest.is_file() else []
    return render_run(df, run_dir, class_names=classes, model_warnings=warnings, formats=formats, log=log)
