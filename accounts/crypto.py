"""Encryption of Discord OAuth tokens at rest (Fernet keys from DISCORD_TOKEN_ENCRYPTION_KEY).

The first key encrypts, every key decrypts, so a key is rotated by prepending a new one, running
`manage.py rotate_token_key`, then dropping the old one.
"""

import base64
import hashlib
import warnings
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class TokenKeyMissing(ImproperlyConfigured):
    """No DISCORD_TOKEN_ENCRYPTION_KEY is configured outside DEBUG: tokens cannot be stored."""


class TokenDecryptionError(Exception):
    """A stored token does not decrypt under any configured key (wrong or removed key)."""


def derived_development_key(secret_key: str) -> bytes:
    """A Fernet key derived from SECRET_KEY, only ever used in DEBUG with no key configured."""
    digest = hashlib.sha256(f"dealscale-discord-token-key:{secret_key}".encode()).digest()
    return base64.urlsafe_b64encode(digest)


def configured_keys() -> list[str]:
    return [key.strip() for key in settings.DISCORD_TOKEN_ENCRYPTION_KEY if key.strip()]


def token_cipher() -> MultiFernet:
    """The MultiFernet of the configured keys. Raises TokenKeyMissing, ImproperlyConfigured."""
    return _cipher_for(tuple(configured_keys()), settings.DEBUG, settings.SECRET_KEY)


@lru_cache(maxsize=4)
def _cipher_for(keys: tuple[str, ...], debug: bool, secret_key: str) -> MultiFernet:
    # Cached per configuration: building Fernet objects is cheap but it sits on the OAuth
    # callback's hot path, and tests switch keys through settings, which changes the cache key.
    if not keys:
        if not debug:
            raise TokenKeyMissing(
                "DISCORD_TOKEN_ENCRYPTION_KEY is not set: Discord tokens cannot be stored. Generate one "
                "with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            )
        warnings.warn(
            "DISCORD_TOKEN_ENCRYPTION_KEY is not set: Discord tokens are encrypted with a key derived "
            "from SECRET_KEY. Acceptable in DEBUG only; set a real key before storing real tokens.",
            RuntimeWarning,
            stacklevel=2,
        )
        return MultiFernet([Fernet(derived_development_key(secret_key))])
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as error:
        raise ImproperlyConfigured(
            "DISCORD_TOKEN_ENCRYPTION_KEY must hold url-safe base64 Fernet keys of 32 bytes, "
            f"comma-separated: {error}"
        ) from None


def encrypt(value: str) -> str:
    return token_cipher().encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    """The clear text of `value`. Raises TokenDecryptionError when no configured key opens it."""
    try:
        return token_cipher().decrypt(value.encode()).decode()
    except InvalidToken:
        raise TokenDecryptionError(
            "A stored Discord token cannot be decrypted with any key in DISCORD_TOKEN_ENCRYPTION_KEY "
            "(was a key removed before `manage.py rotate_token_key` ran?)."
        ) from None


def reencrypt(value: str) -> str:
    """`value` encrypted under the first key (MultiFernet.rotate). Raises TokenDecryptionError."""
    try:
        return token_cipher().rotate(value.encode()).decode()
    except InvalidToken:
        raise TokenDecryptionError(
            "A stored Discord token cannot be decrypted with any configured key."
        ) from None
