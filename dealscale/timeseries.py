"""Time-bucketed aggregates for trend charts: one grouped query per series, bucketed by hour or day.

The apps' selectors use it to answer "how many per hour (or day)" about their own rows, so that a
reader such as the ops dashboard never queries another app's models itself.
"""

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.db.models.functions import Trunc

BUCKET_KINDS = ("hour", "day")


def per_bucket(
    queryset: QuerySet, *, field: str, since: datetime, until: datetime, kind: str, **aggregates: Any
) -> dict[datetime, dict[str, Any]]:
    """The `aggregates` of the rows whose `field` falls in [since, until), by bucket start.

    `kind` is "hour" or "day"; buckets without rows are absent (the caller fills the gaps)."""
    if kind not in BUCKET_KINDS:
        raise ValueError(f"Unknown bucket kind {kind!r}: use one of {', '.join(BUCKET_KINDS)}.")
    rows = (
        queryset.filter(**{f"{field}__gte": since, f"{field}__lt": until})
        .annotate(bucket=Trunc(field, kind))
        .values("bucket")
        .annotate(**aggregates)
        .order_by("bucket")
    )
    return {row.pop("bucket"): row for row in rows}
