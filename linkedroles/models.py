"""What DealScale last told Discord: the registered metadata schema and each member's role connection."""

from django.conf import settings
from django.db import models


class MetadataRegistration(models.Model):
    """The metadata schema registered with Discord for an application (one row per application id)."""

    application_id = models.CharField(max_length=32, unique=True)
    payload_hash = models.CharField(max_length=64)
    record_count = models.PositiveSmallIntegerField()
    registered_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.record_count} records for application {self.application_id}"


class RoleConnection(models.Model):
    """A member's role connection as last pushed to Discord, so that only changes are pushed again.

    `pushed_metadata` is exactly the `metadata` object of the last successful PUT (string values);
    None means nothing was pushed yet. A failed push keeps the last good values and records the error.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="role_connection"
    )
    pushed_metadata = models.JSONField(null=True, blank=True)
    pushed_username = models.CharField(max_length=100, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    push_count = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    # Values Discord refused with a 4xx (e.g. a key it does not know): not sent again until they change
    # or the schema is registered again, so a refusal never becomes a stream of invalid requests.
    rejected_metadata = models.JSONField(null=True, blank=True)
    # "Not now" on the profile's prompt to grant the Linked Roles scope.
    prompt_dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["pushed_at"])]

    def __str__(self) -> str:
        return f"role connection of user {self.user_id}"
