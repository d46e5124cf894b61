from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

snowflake_validator = RegexValidator(r"^[0-9]{15,21}$", "A Discord id is a snowflake: 15 to 21 digits.")


class Period(models.TextChoices):
    """The leaderboard periods a milestone can read (the snapshot periods of the leaderboard)."""

    ALL = "all", "All time"
    WEEK = "week", "This week"
    MONTH = "month", "This month"


class MilestoneTrack(models.Model):
    """Milestones grouped: an exclusive track grants only its best role, a cumulative one all earned."""

    name = models.CharField(max_length=100, unique=True)
    exclusive = models.BooleanField(
        default=True, help_text="Give only the best role of this track (Top 10 replaces Top 100)."
    )
    position = models.PositiveIntegerField(default=0, help_text="Order of the track in lists and exports.")

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Milestone(models.Model):
    """A rule (rank ≤ N or score ≥ X in a period) whose holders get a Discord role: that role is "managed"."""

    track = models.ForeignKey(MilestoneTrack, on_delete=models.CASCADE, related_name="milestones")
    name = models.CharField(max_length=100)
    discord_role_id = models.CharField(
        max_length=21, unique=True, validators=[snowflake_validator], verbose_name="Discord role id"
    )
    period = models.CharField(max_length=10, choices=Period.choices, default=Period.ALL)
    max_rank = models.PositiveIntegerField(null=True, blank=True, help_text="Reached at this rank or better.")
    min_score = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Reached at this score or more."
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["track__position", "track_id", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(max_rank__isnull=False) & Q(min_score__isnull=True))
                | (Q(max_rank__isnull=True) & Q(min_score__isnull=False)),
                name="milestone_exactly_one_rule",
                violation_error_message="A milestone has exactly one rule: a maximum rank or a minimum score.",
            ),
            models.CheckConstraint(
                condition=Q(max_rank__gte=1) | Q(max_rank__isnull=True), name="milestone_rank_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.rule_text})"

    @property
    def rule_text(self) -> str:
        period = "" if self.period == Period.ALL else f" this {self.period}"
        if self.max_rank is not None:
            return f"rank ≤ {self.max_rank}{period}"
        return f"score ≥ {self.min_score}{period}"


class SyncExclusion(models.Model):
    """A member the sync never touches: staff manage their roles by hand."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_sync_exclusion"
    )
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "sync exclusion"

    def __str__(self) -> str:
        return f"{self.user} excluded from role sync"


class RoleSyncRun(models.Model):
    """One reconciliation of managed roles with the guild: what was planned, applied, failed, skipped."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Every 5 minutes"
        LINK = "link", "Account linked"
        UNLINK = "unlink", "Account unlinked"
        DEACTIVATION = "deactivation", "User deactivated"
        MILESTONE_CHANGE = "milestone_change", "Milestones changed"
        COMMAND = "command", "sync_roles command"
        API = "api", "API"
        CONFIRMATION = "confirmation", "Staff confirmation"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        AWAITING_CONFIRMATION = "awaiting_confirmation", "Awaiting confirmation"
        CONFIRMED = "confirmed", "Confirmed (applied by a follow-up run)"
        SUCCEEDED = "succeeded"
        PARTIAL = "partial", "Finished with errors"
        FAILED = "failed"
        INTERRUPTED = "interrupted", "Interrupted (finished by a later run)"
        PAUSED = "paused", "Not run: role sync is paused"

    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.QUEUED, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Targeted runs look at these members only; both empty means the whole guild.
    target_user_ids = models.JSONField(default=list, blank=True)
    target_discord_ids = models.JSONField(default=list, blank=True)
    confirmation_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="confirmations"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    members_checked = models.PositiveIntegerField(default=0)
    planned = models.PositiveIntegerField(default=0)
    applied = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    rate_limited_count = models.PositiveIntegerField(default=0, verbose_name="429s seen")
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # [{"role_id", "message", ...}] — one entry per distinct problem, never one per call.
    errors = models.JSONField(default=list, blank=True)
    # [{"user_id", "discord_id", "member", "role_id", "role", "action": "add"|"remove"}]
    plan = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("confirm_role_sync", "Can confirm a role sync held by the safety brake"),
        ]

    def __str__(self) -> str:
        return f"Role sync #{self.pk} ({self.get_trigger_display()}, {self.get_status_display().lower()})"

    @property
    def is_targeted(self) -> bool:
        return bool(self.target_user_ids or self.target_discord_ids)
