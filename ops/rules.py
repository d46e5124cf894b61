"""The alert rules: pure reads of recorded events that say whether something is wrong right now.

Each rule looks at rows other parts of the system already write (bot heartbeats, command
invocations, OAuth callbacks) at a given instant, so a test can replay any moment with a fake clock.
The rows are read through their apps' selectors, which also hold the bot-offline and OAuth-failing
rules next to the health checks' own (different thresholds, on purpose).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from accounts.selectors import oauth_failing_for_alert, oauth_failures_for_alert
from dealscale.outbox import backlog
from discordbot.selectors import bot_offline_for_alert, command_error_counts, seconds_since_last_heartbeat
from ops.models import AlertIncident


@dataclass(frozen=True)
class Observation:
    """What a rule saw: whether it is firing, the figure it measured and a sentence for humans."""

    firing: bool
    value: float
    summary: str


@dataclass(frozen=True)
class AlertRule:
    name: str
    title: str
    severity: str
    check: Callable[[datetime], Observation]


def bot_offline(now: datetime) -> Observation:
    """Firing by discordbot.selectors.bot_offline_for_alert (no heartbeat for ALERT_BOT_OFFLINE_SECONDS)."""
    silent_for = seconds_since_last_heartbeat(now=now)
    if silent_for is None:
        return Observation(True, float("inf"), "No bot process has ever sent a heartbeat.")
    if bot_offline_for_alert(silent_for):
        limit = settings.ALERT_BOT_OFFLINE_SECONDS
        return Observation(True, silent_for, f"No bot heartbeat for {silent_for:.0f} s (limit {limit} s).")
    return Observation(False, silent_for, f"Last bot heartbeat {silent_for:.0f} s ago.")


def command_error_rate(now: datetime) -> Observation:
    """Firing when more than ALERT_ERROR_RATE_THRESHOLD of the bot's commands failed in the window.

    Errors are invocations whose outcome is "error" (an exception in the handler); "refused"
    (not linked, no permission, integration switched off) is a correct answer, not an error.
    Below ALERT_ERROR_RATE_MIN_COMMANDS in the window the rule stays quiet: one failed command at
    night is 100 % of one and no reason to wake anyone.
    """
    window = settings.ALERT_ERROR_RATE_WINDOW_SECONDS
    threshold = settings.ALERT_ERROR_RATE_THRESHOLD
    counts = command_error_counts(since=now - timedelta(seconds=window), until=now)
    total, errors = counts["total"], counts["errors"]
    rate = errors / total if total else 0.0
    summary = f"{errors} of {total} bot commands failed in the last {window // 60} min ({rate:.1%})."
    firing = total >= settings.ALERT_ERROR_RATE_MIN_COMMANDS and rate > threshold
    return Observation(firing, rate, summary)


def oauth_failures(now: datetime) -> Observation:
    """Firing by accounts.selectors.oauth_failing_for_alert (more than ALERT_OAUTH_FAILURES_THRESHOLD
    failed callbacks in ALERT_OAUTH_FAILURES_WINDOW_SECONDS)."""
    failures = oauth_failures_for_alert(now=now)
    window = settings.ALERT_OAUTH_FAILURES_WINDOW_SECONDS
    threshold = settings.ALERT_OAUTH_FAILURES_THRESHOLD
    summary = f"{failures} Discord OAuth callbacks failed in the last {window} s (limit {threshold})."
    return Observation(oauth_failing_for_alert(failures), float(failures), summary)


def outbox_backlog(now: datetime) -> Observation:
    """Firing when an outbox entry has been due for more than ALERT_OUTBOX_LAG_SECONDS: no worker (or no
    broker, or no beat for the relay) is delivering side effects. Failed entries do not fire it: a DM to
    a member who closed their DMs fails for good, as it should; they are counted in /metrics."""
    lag = backlog(now=now).oldest_due_seconds
    if lag is None:
        return Observation(False, 0.0, "Nothing in the outbox is waiting.")
    summary = (
        f"The oldest due outbox entry has waited {lag:.0f} s (limit {settings.ALERT_OUTBOX_LAG_SECONDS} s)."
    )
    return Observation(outbox_lagging(lag), lag, summary)


def outbox_lagging(lag: float | None) -> bool:
    """The outbox rule, shared with the dashboard: an entry due for longer than ALERT_OUTBOX_LAG_SECONDS."""
    return lag is not None and lag > settings.ALERT_OUTBOX_LAG_SECONDS


RULES: list[AlertRule] = [
    AlertRule("bot_offline", "Discord bot offline", AlertIncident.Severity.CRITICAL, bot_offline),
    AlertRule(
        "command_error_rate",
        "Bot command error rate high",
        AlertIncident.Severity.WARNING,
        command_error_rate,
    ),
    AlertRule("oauth_failures", "Discord OAuth failing", AlertIncident.Severity.WARNING, oauth_failures),
    AlertRule(
        "outbox_backlog", "Side effects not delivered", AlertIncident.Severity.CRITICAL, outbox_backlog
    ),
]
