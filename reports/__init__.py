"""Reports from stored result rows and run files: tables, figures, LaTeX, Markdown, HTML.
Never imports attacks or zoo."""
from .plots import write_plots
from .compare import (compare_attacks, compare_runs, compare_summary, over_seeds, paired_markdown_frame,
                      seeds_markdown_frame)
from .render import render_run
from .sanity import result_warnings
from .tables import (RESULT_COLUMNS, TIMING_COLUMNS, rows_frame, summary_markdown, summary_table, to_markdown,
                     transfer_matrix, write_tables)

__all__ = ["RESULT_COLUMNS", "TIMING_COLUMNS", "compare_attacks", "compare_runs", "compare_summary",
           "over_seeds", "paired_markdown_frame", "seeds_markdown_frame",
           "render_run", "result_warnings", "rows_frame", "summary_markdown", "summary_table", "to_markdown",
           "transfer_matrix", "write_plots", "write_tables"]
