"""The leaderboard periods and the calendar bucket (in UTC) an instant falls into."""

from datetime import UTC, date, datetime, timedelta

from django.db import models


class Period(models.TextChoices):
    ALL = "all", "All time"
    MONTH = "month", "This month"
    WEEK = "week", "This week"


# The all-time period has one bucket; a fixed start keeps (period, period_start) a plain unique key.
ALL_TIME_START = date(1970, 1, 1)


def period_start(period: str, at: datetime) -> date:
    """The first day of the bucket of `period` containing `at`: ISO weeks start Monday 00:00 UTC."""
    day = at.astimezone(UTC).date()
    if period == Period.ALL:
        return ALL_TIME_START
    if period == Period.MONTH:
        return day.replace(day=1)
    if period == Period.WEEK:
        return day - timedelta(days=day.weekday())
    raise ValueError(f"Unknown leaderboard period {period!r}.")
