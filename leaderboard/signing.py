"""Signing secrets at rest and the webhook signature: `X-DealScale-Signature: t=<unix>,v1=<hex>`.

v1 is the hex HMAC-SHA256 of "<t>.<raw body>" keyed with the service key's signing secret. The
secret has to be recoverable to verify signatures, so it is encrypted (Fernet, with a key derived
from SECRET_KEY) rather than hashed. Keys derived from SECRET_KEY_FALLBACKS still decrypt, so
rotating SECRET_KEY the Django way (the old key moved to the fallbacks) keeps service keys working.
"""

import base64
import hashlib
import hmac
import re
import time

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

SIGNATURE_HEADER = "X-DealScale-Signature"
# Signatures older or newer than this are refused, which bounds how long a captured request replays.
SIGNATURE_TOLERANCE_SECONDS = 300
# ASCII only: str.isdigit() also takes "¹" or "١" (which int() refuses or reads), and
# hmac.compare_digest raises TypeError on a non-ASCII str. Twelve digits reach the year 33658.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class InvalidSignature(Exception):
    """The signature header is missing, malformed, stale or does not match the body."""


class UndecryptableSecret(Exception):
    """No key derived from SECRET_KEY or SECRET_KEY_FALLBACKS decrypts a stored signing secret."""


def _derived_fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(b"dealscale.leaderboard.service-key-secret:" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _fernet() -> MultiFernet:
    # MultiFernet encrypts with the first key (SECRET_KEY) and decrypts with any of them.
    keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return MultiFernet([_derived_fernet(key) for key in keys])


def encrypt_secret(secret: str) -> str:
    """The signing secret encrypted with the key derived from SECRET_KEY."""
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(token: str) -> str:
    """The signing secret of an encrypted token. Raises UndecryptableSecret."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise UndecryptableSecret from None


def sign(*, secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value a client sends for `body` (used by tests, the bench and integrators' docs)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(*, header: str | None, secret: str, body: bytes, now: float | None = None) -> None:
    """Accept a header that signs `body` within the tolerance. Raises InvalidSignature."""
    if not header:
        raise InvalidSignature(f"Missing {SIGNATURE_HEADER} header.")
    parts = dict(item.strip().partition("=")[::2] for item in header.split(","))
    timestamp, given = parts.get("t", ""), parts.get("v1", "")
    if not _TIMESTAMP.fullmatch(timestamp) or not _HEX_SHA256.fullmatch(given):
        raise InvalidSignature(
            f"Malformed {SIGNATURE_HEADER} header: expected t=<unix seconds>,v1=<64 hex digits>."
        )
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > SIGNATURE_TOLERANCE_SECONDS:
        raise InvalidSignature("Signature timestamp is outside the 5-minute tolerance.")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, bytes.fromhex(given)):
        raise InvalidSignature("Signature does not match the request body.")
