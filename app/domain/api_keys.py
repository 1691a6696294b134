"""What an API key is made of: `ptc_<lookup>_<secret>`, stored as its lookup and the hash of the whole."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

KEY_PREFIX = "ptc_"
LOOKUP_BYTES = 8  # the lookup part of a key: this many random bytes, in hex


@dataclass(frozen=True)
class NewKey:
    plaintext: str
    lookup: str
    key_hash: str


def generate_key() -> NewKey:
    """A key `ptc_<lookup>_<secret>`: the lookup finds the row, the secret carries 192 random bits."""
    lookup = secrets.token_hex(LOOKUP_BYTES)
    plaintext = f"{KEY_PREFIX}{lookup}_{secrets.token_urlsafe(24)}"
    return NewKey(plaintext, lookup, hash_key(plaintext))


def hash_key(plaintext: str) -> str:
    # Keys carry ≥128 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(plaintext.encode()).hexdigest()


def parse_lookup(plaintext: str) -> str | None:
    if not plaintext.startswith(KEY_PREFIX):
        return None
    lookup, sep, secret = plaintext[len(KEY_PREFIX) :].partition("_")
    if not sep or not secret or len(lookup) != 2 * LOOKUP_BYTES:
        return None
    return lookup
