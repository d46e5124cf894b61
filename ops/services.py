"""Writes of the ops app outside alerting (ops/alerts.py): the record of each preflight run."""

from datetime import datetime

from ops.models import PreflightRun

Status = PreflightRun.Status


def record_preflight_run(
    *, ran_at: datetime, results: list[dict], fixed_commands: bool, actor: str
) -> PreflightRun:
    """Store the checklist lines of one preflight run (`{"key", "section", "label", "status", "detail",
    "fix"}` each) with its overall status, for the health dashboard's "Last preflight"."""
    counts = {status: sum(1 for line in results if line["status"] == status) for status in Status}
    overall = (
        Status.FAILED
        if counts[Status.FAILED]
        else Status.WARNING
        if counts[Status.WARNING]
        else Status.PASSED
    )
    return PreflightRun.objects.create(
        ran_at=ran_at,
        status=overall,
        passed=counts[Status.PASSED],
        warnings=counts[Status.WARNING],
        failures=counts[Status.FAILED],
        results=results,
        fixed_commands=fixed_commands,
        operator=actor[:150],
    )
