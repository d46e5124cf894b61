"""Celery tasks of the credits app: checking the ledger."""

import structlog
from celery import shared_task

from credits.selectors import credit_account_count, ledger_drift

logger = structlog.get_logger(__name__)


@shared_task(name="credits.tasks.check_ledger", ignore_result=True)
def check_ledger() -> int:
    """Log every cached balance that drifted from its ledger, at error level so it alerts; returns the count.

    The scheduled twin of `manage.py verify_ledger` (beat entry "credits-check-ledger").
    """
    drifts = ledger_drift()
    for drift in drifts:
        logger.error(
            "credit_ledger_drift",
            user_id=drift.user_id,
            cached_balance=drift.cached_balance,
            ledger_total=drift.ledger_total,
        )
    if not drifts:
        logger.info("credit_ledger_ok", accounts=credit_account_count())
    return len(drifts)
