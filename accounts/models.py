import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models

from accounts.fields import EncryptedTextField


class User(AbstractUser):
    """The DealScale member; Discord identity lives in allauth's SocialAccount."""

    display_name = models.CharField(max_length=100, blank=True)

    def __str__(self) -> str:
        return self.display_name or self.username


class APIToken(models.Model):
    """A personal API token: shown once at creation, stored only as its SHA-256 hash."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, default="default")
    # The first characters of the token, kept in clear so owners can tell tokens apart.
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) of {self.user}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def generate_key() -> str:
        return "dsk_" + secrets.token_urlsafe(32)

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()


class AuditEvent(models.Model):
    """An append-only record of a privileged or security-relevant action."""

    class Source(models.TextChoices):
        WEB = "web"
        API = "api"
        ADMIN = "admin"
        DISCORD = "discord"
        SYSTEM = "system"
        CLI = "cli"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept in clear so the trail survives the actor's deletion.
    actor_repr = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=100, db_index=True)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True, db_index=True)
    target_repr = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_repr or 'system'} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Audit events are append-only and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit events are append-only and cannot be deleted.")


class OAuthAttempt(models.Model):
    """The outcome of one OAuth exchange with Discord (a sign-in callback, or a token refresh whose
    `error` starts with "token refresh"), for /health/discord and the OAuth-failure alert."""

    provider = models.CharField(max_length=30, default="discord")
    succeeded = models.BooleanField()
    error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        outcome = "ok" if self.succeeded else f"failed: {self.error}"
        return f"{self.provider} {outcome} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class DiscordToken(models.Model):
    """The OAuth tokens of one linked Discord account, encrypted at rest.

    allauth's own SocialToken stores tokens in clear, so SOCIALACCOUNT_STORE_TOKENS is off and the
    tokens of each login land here instead. The `*_encrypted` columns hold Fernet ciphertext; the
    attributes read back as clear text (see accounts.fields.EncryptedTextField).
    """

    social_account = models.OneToOneField(
        "socialaccount.SocialAccount", on_delete=models.CASCADE, related_name="discord_token"
    )
    access_token_encrypted = EncryptedTextField()
    # Discord rotates the refresh token on every refresh: the newest one is the only valid one.
    refresh_token_encrypted = EncryptedTextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    scope = models.CharField(max_length=200, blank=True)
    # Set when a refresh was refused: the user must link Discord again (profile banner).
    needs_relink = models.BooleanField(default=False)
    # Set when a refresh got no answer (5xx, timeout): Discord may have rotated the refresh token, so the
    # next refresh waits a little and then tells (accounts.services.get_valid_access_token).
    refresh_uncertain_since = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "Discord token"

    def __str__(self) -> str:
        return f"Discord token of account {self.social_account_id}"
