"""Historical import: the wide spreadsheets agencies keep, one row per review.

Layout (CSV or XLSX, headings on row 1): `program`, `date`, `scale` (required), `version`
(default: the newest version of the scale), `provider`, `region`, `type` (baseline,
follow-up, self-assessment; default: baseline for a program's first review of that scale,
follow-up after it), `raters` (names separated by ';'), and one column per item id (`H1`,
`H2`, ...; case does not matter, and a scale's published ids such as IDDT `1a` work too).
A blank rating cell (or NA, N/A, '-') means the item was not rated.

This package is the format only, with no database: `read` reads a file (size limits, sheets),
`parse` checks every row before anything is written (`validate_wide` reports each problem
with the row number a spreadsheet shows, headings being row 1, and the column heading), and
`records` holds what they return. Planning against the database (`plan_wide`) and storing
every row as a final consensus review in one transaction (`import_wide`) are services:
services.historical_import.
"""

from exchange.historical.layout import (
    ALIASES,
    DATE_FORMATS,
    METADATA_COLUMNS,
    NOT_RATED_MARKERS,
    NOT_RATED_REASON,
    REQUIRED_COLUMNS,
    SOURCE_COLUMN,
)
from exchange.historical.parse import (
    parse_date,
    parse_rating,
    parse_wide,
    validate_wide,
)
from exchange.historical.read import (
    MAX_COLUMNS,
    MAX_FILE_BYTES,
    MAX_ROWS,
    MAX_UNPACKED_BYTES,
    combine_wide,
    read_wide_file,
)
from exchange.historical.records import (
    ImportPlan,
    ImportSummary,
    PlannedReview,
    Progress,
    RowProblem,
    WideImportError,
    WideRow,
)

__all__ = [
    "ALIASES",
    "DATE_FORMATS",
    "MAX_COLUMNS",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "MAX_UNPACKED_BYTES",
    "METADATA_COLUMNS",
    "NOT_RATED_MARKERS",
    "NOT_RATED_REASON",
    "REQUIRED_COLUMNS",
    "SOURCE_COLUMN",
    "ImportPlan",
    "ImportSummary",
    "PlannedReview",
    "Progress",
    "RowProblem",
    "WideImportError",
    "WideRow",
    "combine_wide",
    "parse_date",
    "parse_rating",
    "parse_wide",
    "read_wide_file",
    "validate_wide",
]
