"""Typed dates as people write them at a desk: ``1988-04-12``, ``1988/4/12``, ``12.04.1988``…

Why not a date-picker spin box: Qt's ``QDateEdit`` with a "not given" special value cannot be
typed into (it showed "Not given12/04/1988" and reverted) and its calendar opened at January 1900.
A date of birth decides whether a guardian must sign, so it must be quick to type and impossible
to misread: the accepted forms are unambiguous (year first, or day.month.year with a four-digit
year), and anything else is refused with the expected format shown.
"""

from __future__ import annotations

import datetime as dt
import re

_YMD = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")
_COMPACT = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})\s*$")
_DMY = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*$")
EARLIEST = dt.date(1900, 1, 1)


class DateProblem(ValueError):
    """Why a typed date was refused: ``format`` (unreadable), ``future`` or ``too_old``."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def parse_typed_date(text: str, today: dt.date) -> dt.date | None:
    """The date typed, ``None`` for an empty field; raises :class:`DateProblem` otherwise."""
    if not text.strip():
        return None
    for pattern, order in ((_YMD, "ymd"), (_COMPACT, "ymd"), (_DMY, "dmy")):
        match = pattern.match(text)
        if match:
            a, b, c = (int(g) for g in match.groups())
            year, month, day = (a, b, c) if order == "ymd" else (c, b, a)
            try:
                date = dt.date(year, month, day)
            except ValueError:
                raise DateProblem("format") from None
            if date > today:
                raise DateProblem("future")
            if date < EARLIEST:
                raise DateProblem("too_old")
            return date
    raise DateProblem("format")
