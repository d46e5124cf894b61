from django.db import models


class TaskLock(models.Model):
    """A held lock of `dealscale.locks.single_flight` when no Redis is configured."""

    name = models.CharField(max_length=200, primary_key=True)
    owner = models.CharField(max_length=64)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} (until {self.expires_at:%H:%M:%S})"
