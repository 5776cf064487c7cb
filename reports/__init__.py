"""Reports from stored result rows and run artifacts: tables and figures. Never imports attacks or zoo."""
from .plots import write_plots
from .sanity import result_warnings
from .tables import (RESULT_COLUMNS, TIMING_COLUMNS, rows_frame, summary_markdown, summary_table,
                     transfer_matrix, write_tables)

__all__ = ["result_warnings", "RESULT_COLUMNS", "TIMING_COLUMNS", "rows_frame", "summary_markdown", "summary_table",
           "transfer_matrix", "write_plots", "write_tables"]
