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
