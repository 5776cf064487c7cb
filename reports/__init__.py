"""Reports from stored result rows: tables now, plots and HTML later. Never imports attacks or zoo."""
from .tables import (RESULT_COLUMNS, TIMING_COLUMNS, rows_frame, summary_markdown, summary_table,
                     transfer_matrix, write_tables)

__all__ = ["RESULT_COLUMNS", "TIMING_COLUMNS", "rows_frame", "summary_markdown", "summary_table",
           "transfer_matrix", "write_tables"]
