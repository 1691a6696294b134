"""CSRF tokens for the forms of the pages.

The pages authenticate with HTTP Basic, which a browser sends by itself with any request to
Portico, whichever site starts it. So a form that changes something carries a token that only a
page Portico served can hold: an HMAC, under a key derived from the secret keys, of the API key
that asked for the page, what the form acts on, and when it was issued. Another site can neither
read our pages (same-origin policy) nor compute the HMAC.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAX_AGE_SECONDS = 12 * 3600
_CLOCK_SKEW_SECONDS = 60  # replicas' clocks differ a little


def _derive(secret_key: str) -> bytes:
    # A key of its own, so that a token never reveals anything about the key that encrypts secrets.
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"portico csrf v1").derive(
        secret_key.encode()
    )


class CsrfTokens:
    """Issue under the first secret key; accept under any, as decryption does (key rotation)."""

    def __init__(self, secret_keys: list[str]) -> None:
        self._keys = [_derive(key) for key in secret_keys]

    def issue(self, key_id: str, subject: str, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        return f"{issued}.{self._mac(self._keys[0], key_id, subject, issued)}"

    def valid(self, token: str, key_id: str, subject: str, now: float | None = None) -> bool:
        stamp, _, mac = token.partition(".")
        if not stamp.isdigit() or not mac:
            return False
        issued = int(stamp)
        age = (time.time() if now is None else now) - issued
        if not -_CLOCK_SKEW_SECONDS <= age <= MAX_AGE_SECONDS:
            return False
        return any(hmac.compare_digest(mac, self._mac(key, key_id, subject, issued)) for key in self._keys)

    @staticmethod
    def _mac(key: bytes, key_id: str, subject: str, issued: int) -> str:
        message = f"{key_id}\n{subject}\n{issued}".encode()
        return base64.urlsafe_b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode().rstrip("=")
