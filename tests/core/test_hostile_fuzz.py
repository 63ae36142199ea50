"""issue-11: property-based fuzzing of the CSV importer and of the CLI's numeric arguments.

Whatever the bytes of the CSV or the text of a number, the answer is a report or one
:class:`InvalidInput`, never another exception ("unexpected ...") and never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.bulk_import import SkippedRow, read_rows
from app.cli.output import SQLITE_MAX_INT, whole
from app.cli.program import build_parser
from app.desk import Desk
from app.errors import InvalidInput
from app.models import Purpose

HEADER = "name,reference,photo,consent_scan,signed_on"
cells = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30
) | st.sampled_from(["", "0001-01-01", "2026-02-30", "/dev/zero", "a.jpg;b.jpg", '"', "\r\n"])


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=600))
def test_read_rows_on_any_bytes(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "any.csv"
    path.write_bytes(data)
    try:
        rows = read_rows(path)
    except InvalidInput:
        return
    lines = data.count(b"\n") + 1
    assert all(2 <= r.line <= lines for r in rows)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.lists(cells, min_size=0, max_size=7), max_size=6), header=st.booleans())
def test_import_never_fails_unexpectedly(
    desk: Desk, purpose: Purpose, tmp_path: Path, rows: list[list[str]], header: bool
) -> None:
    import csv

    buf = io.StringIO()
    w = csv.writer(buf)
    if header:
        buf.write(HEADER + "\n")
    w.writerows(rows)
    path = tmp_path / "fuzz.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    try:
        report = desk.import_people(path, purpose.id)
    except InvalidInput as exc:
        assert "\n" not in str(exc)
        return
    assert report.imported == 0  # no row here has a real photo and scan
    for skipped in report.skipped:
        assert isinstance(skipped, SkippedRow) and skipped.row >= 2 and skipped.reason


numbers = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.text(max_size=25),
    st.sampled_from(["1e3", "0x10", " 7 ", "٣", "-0", "+5", "9" * 400, "1_000"]),
)


@settings(max_examples=300, deadline=None)
@given(text=numbers)
def test_whole_numbers(text: str) -> None:
    parse = whole(0)
    try:
        value = parse(text)
    except argparse.ArgumentTypeError as exc:
        assert "\n" not in str(exc)
        return
    assert 0 <= value <= SQLITE_MAX_INT


INT_ARGS = [
    ["policy", "{}", "--out", "x.pdf"],
    ["purpose", "show", "{}"],
    ["people", "--offset", "{}"],
    ["people", "--limit", "{}"],
    ["people", "--purpose", "{}"],
    ["import", "x.csv", "--purpose", "{}"],
    ["assessment", "{}", "--out", "x.pdf"],
    ["bench", "--people", "{}"],
]


@pytest.mark.parametrize("template", INT_ARGS, ids=lambda t: " ".join(t[:2]))
@settings(max_examples=60, deadline=None)
@given(text=numbers)
def test_cli_numbers_parse_or_fail_in_one_line(template: list[str], text: str) -> None:
    if text.startswith("-") and not text.lstrip("-").strip().isdigit():
        text = " " + text  # argparse would take it for an option; that is its own error
    argv = [text if a == "{}" else a for a in template]
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:
            assert exc.code == 2
            assert err.getvalue().strip().count("\n") == 0, err.getvalue()
            assert "Traceback" not in err.getvalue()
            return
    for value in vars(args).values():
        if isinstance(value, int) and not isinstance(value, bool):
            assert -1 < value <= SQLITE_MAX_INT
