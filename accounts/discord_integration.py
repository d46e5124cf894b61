"""The kill switch: the `discord_integration` waffle flag, switched by ops without a deploy.

Off (`everyone = No`) refuses Discord linking and sign-in on the web, answers every bot command with
"temporarily disabled" and pauses role sync. On (`everyone = Yes`) opens it to all members. A
rollout (`everyone` unset, `percent` N) lets in members whose stable bucket is below N
(accounts.selectors.discord_integration_enabled_for_user), plus staff and superusers if the flag
says so.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from waffle import get_waffle_flag_model

from accounts.errors import FlagMissing, InvalidRollout
from accounts.models import AuditEvent, User
from accounts.selectors import DISCORD_INTEGRATION_FLAG
from accounts.services import record_audit_event

# Waffle stores percent with one decimal and below 100; 100 % is `everyone = Yes`.
MAX_ROLLOUT_PERCENT = Decimal("99.9")


@dataclass(frozen=True)
class IntegrationState:
    mode: str  # "on", "off" or "rollout"
    percent: Decimal
    staff: bool
    superusers: bool

    def describe(self) -> str:
        if self.mode == "rollout":
            extra = [who for who, on in (("staff", self.staff), ("superusers", self.superusers)) if on]
            tail = f" plus {' and '.join(extra)}" if extra else ""
            return f"rollout {self.percent.normalize():f}% of members{tail}"
        return "on for everyone" if self.mode == "on" else "off for everyone"


def _flag():
    flag = get_waffle_flag_model().objects.filter(name=DISCORD_INTEGRATION_FLAG).first()
    if flag is None:
        raise FlagMissing(
            f"The {DISCORD_INTEGRATION_FLAG} flag does not exist: run `python manage.py migrate`."
        )
    return flag


def _state(flag) -> IntegrationState:
    if flag.everyone is True:
        mode = "on"
    elif flag.everyone is False:
        mode = "off"
    else:
        mode = "rollout"
    percent = Decimal(flag.percent or 0).quantize(Decimal("0.1"))
    return IntegrationState(mode=mode, percent=percent, staff=flag.staff, superusers=flag.superusers)


def discord_integration_state() -> IntegrationState:
    """The current state of the kill switch. Raises FlagMissing."""
    return _state(_flag())


def _is_switched_off(flag) -> bool:
    # The one definition of "the kill switch is off": the flag exists and says No for everyone.
    return flag.pk is not None and flag.everyone is False


def discord_integration_switched_off() -> bool:
    """True when the kill switch is off for everyone: the bot refuses every command and role sync
    pauses (rolesync.selectors.role_sync_enabled, discordbot.cogs.base)."""
    return _is_switched_off(get_waffle_flag_model().get(DISCORD_INTEGRATION_FLAG))


def discord_sign_in_open() -> bool:
    """Whether members whose Discord account is already linked may sign in with it: whenever the flag
    exists and the kill switch is not off.

    The rollout decides who may link (connect, or sign up with Discord), but a member who joined with
    Discord and has no password must never be locked out because a rollout was reduced or their new
    browser drew another bucket.
    """
    flag = get_waffle_flag_model().get(DISCORD_INTEGRATION_FLAG)
    return flag.pk is not None and not _is_switched_off(flag)


def parse_percent(raw: str) -> Decimal:
    """A rollout percentage from user input. Raises InvalidRollout."""
    try:
        percent = Decimal(raw.strip().rstrip("%"))
    except ArithmeticError as exc:
        raise InvalidRollout(f"{raw!r} is not a number.") from exc
    if not percent.is_finite() or not 0 <= percent <= 100:
        raise InvalidRollout("The rollout percentage must be between 0 and 100.")
    if percent != percent.quantize(Decimal("0.1")):
        raise InvalidRollout("The rollout percentage takes at most one decimal (e.g. 12.5).")
    return percent


@transaction.atomic
def set_discord_integration(
    *,
    mode: str,
    percent: Decimal | None = None,
    actor: User | str | None = None,
    source: str = AuditEvent.Source.CLI,
) -> IntegrationState:
    """Switch the integration "on", "off" or to a "rollout" of `percent`; audit-logged as flag.changed.

    `actor` is the user, or for the CLI the shell user's name (see record_audit_event).
    Raises FlagMissing, InvalidRollout."""
    flag = _flag()
    before = _state(flag)
    if mode == "on" or (mode == "rollout" and percent == 100):
        flag.everyone = True
    elif mode == "off":
        flag.everyone = False
    elif mode == "rollout":
        if percent is None or not 0 <= percent <= 100:
            raise InvalidRollout("A rollout needs a percentage between 0 and 100.")
        flag.everyone = None
        flag.percent = min(percent, MAX_ROLLOUT_PERCENT)
    else:
        raise ValueError(f"Unknown mode {mode!r}: use on, off or rollout.")
    # Model.save() (not a queryset update) so waffle flushes its cached copy of the flag.
    flag.save()
    after = _state(flag)
    record_audit_event(
        actor=actor,
        action="flag.changed",
        source=source,
        target=flag,
        data={
            "flag": DISCORD_INTEGRATION_FLAG,
            "before": {"mode": before.mode, "percent": str(before.percent)},
            "after": {"mode": after.mode, "percent": str(after.percent)},
        },
    )
    return after
