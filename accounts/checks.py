"""System checks of the accounts app (run by `manage.py check` and at server start)."""

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.core.exceptions import ImproperlyConfigured

from accounts import crypto


@register()
def check_token_encryption_key(app_configs, **kwargs):
    """Without a valid DISCORD_TOKEN_ENCRYPTION_KEY, production refuses to start storing tokens."""
    if not crypto.configured_keys():
        if not settings.DISCORD_CLIENT_ID:
            return []  # Discord sign-in is not configured: no token will ever be stored.
        if settings.DEBUG:
            return [
                Warning(
                    "DISCORD_TOKEN_ENCRYPTION_KEY is not set; Discord tokens use a key derived from SECRET_KEY.",
                    hint="Fine for development. Set a Fernet key before linking real Discord accounts.",
                    id="accounts.W001",
                )
            ]
        return [
            Error(
                "DISCORD_TOKEN_ENCRYPTION_KEY is not set: Discord tokens cannot be stored encrypted.",
                hint="python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'",
                id="accounts.E001",
            )
        ]
    try:
        crypto.token_cipher()
    except ImproperlyConfigured as error:
        return [Error(str(error), id="accounts.E002")]
    return []
