"""Encryption at rest for GESDENT passwords and webhook secrets.

Keys come from PORTICO_SECRET_KEYS (comma-separated Fernet keys): the first encrypts, all decrypt,
so a new key goes first, `portico rotate-secrets` re-encrypts everything under it, and the old
key can then be dropped. Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) also
authenticates, so a tampered value fails loudly instead of decrypting to garbage."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretBox:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one secret key is needed")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        return self.decrypt_bytes(token).decode()

    def encrypt_bytes(self, plaintext: bytes) -> str:
        """`plaintext` of any bytes (an answer kept for replay, app/idempotency.py), as a token."""
        return self._fernet.encrypt(plaintext).decode()

    def decrypt_bytes(self, token: str) -> bytes:
        try:
            return self._fernet.decrypt(token.encode())
        except InvalidToken:
            raise ValueError("a stored secret cannot be decrypted with PORTICO_SECRET_KEYS") from None

    def rotate(self, token: str) -> str:
        """The same secret, encrypted under the first key."""
        return self._fernet.rotate(token.encode()).decode()


def new_key() -> str:
    return Fernet.generate_key().decode()
