"""CSV for spreadsheets: every --csv goes through here, so text a customer wrote never runs as a formula."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, TextIO

# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection"); tab and CR too.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def safe_cell(value: object) -> object:
    """Text a spreadsheet would read as a formula, with a ' in front; numbers (a negative one too) as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def write_csv(out: TextIO, header: Iterable[str], rows: Iterable[Iterable[object]], **options: Any) -> None:
    """The header, then the rows, every cell made safe."""
    writer = csv.writer(out, **options)
    writer.writerow(header)
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
