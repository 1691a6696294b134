"""Signed pagination cursors: a list's next page, opaque to the client and forgeable by no one.

A cursor carries the last row's keys, signed: an HMAC, under a key derived from the secret keys (as
the pages' CSRF tokens are, app/pages/csrf.py), of the list's path and those keys. So the only
cursors accepted are the ones this API issued for this very list: a crafted one (`[1]` where a name
goes, a NUL, `[true]`: each was a 500 on PostgreSQL) or one of another list is a 422
`invalid-cursor` before any query. The data layer checks the keys against the list's columns too
(app/db/repositories/pages.py), so that even a leaked secret key could not make a query fail.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.domain.errors import InvalidCursor

_MAC_BYTES = 16  # 128 bits: a forgery needs 2**128 tries


class Cursors:
    """Issue cursors under the first secret key; accept them under any, as decryption does (rotation)."""

    def __init__(self, secret_keys: list[str]) -> None:
        self._keys = [_derive(key) for key in secret_keys]

    def issue(self, path: str, values: Sequence[str | int]) -> str:
        payload = json.dumps(list(values), separators=(",", ":")).encode()
        token = self._mac(self._keys[0], path, payload) + payload
        return base64.urlsafe_b64encode(token).decode().rstrip("=")

    def open(self, path: str, cursor: str) -> tuple[object, ...]:
        """The values of a cursor issued for `path`, or InvalidCursor."""
        try:
            token = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            token = b""
        mac, payload = token[:_MAC_BYTES], token[_MAC_BYTES:]
        if len(mac) < _MAC_BYTES or not any(
            hmac.compare_digest(mac, self._mac(key, path, payload)) for key in self._keys
        ):
            raise invalid_cursor("The cursor is not one this API issued for this list.")
        try:
            values = json.loads(payload)
        except ValueError:
            values = None
        if not isinstance(values, list) or not values:
            raise invalid_cursor("The cursor is not one this API issued for this list.")
        return tuple(values)

    @staticmethod
    def _mac(key: bytes, path: str, payload: bytes) -> bytes:
        return hmac.new(key, path.encode() + b"\n" + payload, hashlib.sha256).digest()[:_MAC_BYTES]


def _derive(secret_key: str) -> bytes:
    # A key of its own, so that a cursor never reveals anything about the key that encrypts secrets.
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"portico cursor v1").derive(
        secret_key.encode()
    )


def invalid_cursor(detail: str) -> InvalidCursor:
    return InvalidCursor(detail, errors=[{"field": "query.cursor", "message": "not a cursor of this list"}])
