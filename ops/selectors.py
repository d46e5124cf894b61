"""Reads of the ops app outside the dashboard's figures (ops/dashboard.py)."""

from ops.models import PreflightRun


def latest_preflight_run() -> PreflightRun | None:
    """The most recent `manage.py preflight` run, or None when it never ran against this database."""
    return PreflightRun.objects.order_by("-ran_at", "-id").first()
