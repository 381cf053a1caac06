"""CSV cells a spreadsheet would run as a formula (OWASP CSV injection) start with a quote; the rest are as given."""

from __future__ import annotations

import csv
import io

import pytest

from gateway.cli.csv_cells import safe_cell, write_csv


@pytest.mark.parametrize(("cell", "written"), [
    ("=1+1", "'=1+1"), ("+SUM(A1)", "'+SUM(A1)"), ("-2+3", "'-2+3"), ("@cmd", "'@cmd"),
    ("\t=1+1", "'\t=1+1"), ("\r=1+1", "'\r=1+1"),
    ("Quick and friendly", "Quick and friendly"), ("a=b", "a=b"), ("", ""),
    ("-12", "-12"), ("-0.25", "-0.25"), (5, 5), (None, None),
])
def test_a_cell_starting_like_a_formula_gets_a_quote_and_nothing_else_changes(cell, written):
    assert safe_cell(cell) == written


def test_every_cell_of_a_written_csv_is_safe_and_reads_back():
    out = io.StringIO()
    write_csv(out, ["comment", "rating"], [["=cmd|' /C calc'!A0", 1], ["fine", -1]])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["comment", "rating"], ["'=cmd|' /C calc'!A0", "1"],
                                                             ["fine", "-1"]]
