"""Celery tasks of the credits app: telling a member about a decision, checking the ledger."""

import structlog
from celery import shared_task

from accounts.selectors import discord_id_for
from credits.models import CreditRequest
from credits.selectors import credit_account_count, ledger_drift
from discord_rest.client import DiscordClient, DiscordError, DiscordRateLimited, DiscordServerError

logger = structlog.get_logger(__name__)

MAX_RETRIES = 5

COLOURS = {
    CreditRequest.Status.APPROVED: 0x2ECC71,
    CreditRequest.Status.DENIED: 0xE74C3C,
    CreditRequest.Status.CANCELLED: 0x95A5A6,
}
TITLES = {
    CreditRequest.Status.APPROVED: "Credit request approved",
    CreditRequest.Status.DENIED: "Credit request denied",
    CreditRequest.Status.CANCELLED: "Credit request cancelled",
}


def decision_embed(credit_request: CreditRequest) -> dict:
    """The DM embed (Discord's JSON shape) announcing a decided request."""
    fields = [
        {"name": "Amount", "value": f"{credit_request.amount:,} credits", "inline": True},
        {"name": "Request", "value": f"#{credit_request.pk}", "inline": True},
    ]
    if credit_request.decision_note:
        fields.append({"name": "Note", "value": credit_request.decision_note[:1024], "inline": False})
    return {
        "title": TITLES[credit_request.status],
        "description": credit_request.reason[:4096],
        "color": COLOURS[credit_request.status],
        "fields": fields,
        "footer": {"text": "DealScale"},
        "timestamp": credit_request.decided_at.isoformat(),
    }


@shared_task(bind=True, name="credits.tasks.notify_decision", max_retries=MAX_RETRIES, ignore_result=True)
def notify_decision(self, request_id: int) -> None:
    """DM the member the decision on request `request_id` when their Discord account is linked.

    Retried on Discord 429/5xx (after the client's own retries); any other refusal (403 DMs closed,
    404 unknown user) is logged and given up. The decision is committed before this runs and never
    depends on it.
    """
    credit_request = CreditRequest.objects.select_related("user").filter(pk=request_id).first()
    if credit_request is None or credit_request.is_pending:
        logger.warning("credit_decision_notice_skipped", request_id=request_id, reason="not decided")
        return
    discord_id = discord_id_for(credit_request.user)
    if discord_id is None:
        logger.info("credit_decision_notice_skipped", request_id=request_id, reason="discord not linked")
        return
    try:
        DiscordClient().send_dm(discord_id, embeds=[decision_embed(credit_request)])
    except DiscordRateLimited as exc:
        raise self.retry(exc=exc, countdown=max(float(exc.retry_after), 1.0)) from exc
    except DiscordServerError as exc:
        raise self.retry(exc=exc, countdown=min(5 * 2**self.request.retries, 300)) from exc
    except DiscordError as exc:
        # Retrying cannot help: the member closed their DMs (403/50007), left Discord (404)...
        logger.info(
            "credit_decision_notice_refused",
            request_id=request_id,
            discord_id=discord_id,
            status=exc.status,
            code=exc.code,
        )
        return
    logger.info("credit_decision_notice_sent", request_id=request_id, discord_id=discord_id)


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
