from django.conf import settings
from django.db import models


class BotHeartbeat(models.Model):
    """The latest heartbeat of one running bot process (one row per shard group), every 30 s."""

    instance = models.CharField(max_length=100, primary_key=True)
    last_seen_at = models.DateTimeField()
    started_at = models.DateTimeField()
    latency_ms = models.FloatField(null=True, blank=True)
    guild_count = models.PositiveIntegerField(default=0)
    commands_served = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.instance} seen {self.last_seen_at:%Y-%m-%d %H:%M:%S}"


class CommandRegistration(models.Model):
    """The last application-command set registered with Discord for one scope (global or a guild)."""

    GLOBAL_SCOPE = "global"

    # "global", or the guild id the commands were registered in.
    scope = models.CharField(max_length=32, primary_key=True)
    payload_hash = models.CharField(max_length=64)
    command_count = models.PositiveIntegerField()
    registered_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.command_count} commands in {self.scope} at {self.registered_at:%Y-%m-%d %H:%M:%S}"


class ModerationMessage(models.Model):
    """The moderators' channel message that carries the Approve/Deny buttons of one credit request."""

    credit_request_id = models.BigIntegerField(unique=True)
    channel_id = models.CharField(max_length=32)
    message_id = models.CharField(max_length=32)
    posted_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"request {self.credit_request_id} → message {self.message_id}"


class CommandInvocation(models.Model):
    """One slash command or moderation button handled by the bot, for the ops dashboard."""

    class Outcome(models.TextChoices):
        OK = "ok"
        REFUSED = "refused"
        ERROR = "error"

    command = models.CharField(max_length=64)
    discord_user_id = models.CharField(max_length=32)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    duration_ms = models.FloatField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"/{self.command} {self.outcome} in {self.duration_ms:.0f} ms"
