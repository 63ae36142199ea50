"""Statutory answer deadlines for requests, per jurisdiction.

PIPL (with the CAC guidance) counts 15 *working* days; GDPR Art. 12(3) one calendar *month*.
Working days here are Monday to Friday: public holidays differ per region and year and are not
modelled, so a PIPL deadline may fall a day or two earlier than the strict one - early is the
safe side of a statutory deadline.
"""

from __future__ import annotations

import calendar
import datetime as dt

from app.compliance.types import Jurisdiction


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date ``days`` working days after ``start`` (the day of receipt does not count)."""
    day = start
    left = days
    while left > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day


def add_months(start: dt.date, months: int) -> dt.date:
    """Same day ``months`` later, or the month's last day when it is shorter (31 Jan -> 28 Feb)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def due_date(
    received: dt.date, jurisdiction: Jurisdiction, *, pipl_working_days: int, gdpr_months: int
) -> dt.date:
    if jurisdiction == "pipl":
        return add_working_days(received, pipl_working_days)
    return add_months(received, gdpr_months)
