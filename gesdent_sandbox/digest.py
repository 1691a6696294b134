"""Server side of HTTP Digest authentication (RFC 7616), qop=auth, MD5 or SHA-256.

A nonce stays valid for its lifetime and may be reused with any nonce count not seen before, so a
client that keeps its last challenge needs one round trip per request. Counts may arrive out of order
(concurrent requests on one client); only an exact replay is refused. With `per_user`, a nonce
belongs to the first user who answered it: another user's answer is stale.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.request import parse_http_list

from gesdent_sandbox.config import REALM, Algorithm, Credential

HASHES: dict[str, Callable[[bytes], hashlib._Hash]] = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
REQUIRED = ("username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce")


class Verdict(enum.Enum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"  # no, malformed or wrong credentials: challenge again
    STALE = "stale"  # right credentials on an expired or unknown nonce: challenge with stale=true


@dataclass
class _Nonce:
    issued: float
    seen: set[int] = field(default_factory=set)
    user: str | None = None  # with per_user: who answered it first


def parse_authorization(header: str) -> dict[str, str] | None:
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "digest":
        return None
    fields = {}
    for part in parse_http_list(rest):
        name, sep, value = part.strip().partition("=")
        if not sep:
            return None
        value = value.strip()
        if len(value) > 1 and value[0] == value[-1] == '"':
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        fields[name.strip().lower()] = value
    return fields


class DigestAuthority:
    """Issues challenges and checks answers for one realm and algorithm."""

    def __init__(
        self,
        algorithm: Algorithm,
        lifetime: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        per_user: bool = False,
    ) -> None:
        self.algorithm = algorithm
        self.lifetime = lifetime
        self.per_user = per_user
        self.clock = clock
        self.opaque = secrets.token_hex(16)
        self._nonces: dict[str, _Nonce] = {}  # insertion order is issue order

    def challenge(self, stale: bool = False) -> str:
        self._forget_expired()
        nonce = secrets.token_hex(16)
        self._nonces[nonce] = _Nonce(self.clock())
        header = (
            f'Digest realm="{REALM}", qop="auth", algorithm={self.algorithm}, '
            f'nonce="{nonce}", opaque="{self.opaque}"'
        )
        return header + (", stale=true" if stale else "")

    def verify(self, method: str, target: str, header: str | None, credential: Credential) -> Verdict:
        fields = parse_authorization(header or "")
        if fields is None or any(name not in fields for name in REQUIRED):
            return Verdict.REJECTED
        if not self._fields_match(fields, target, credential):
            return Verdict.REJECTED
        if not hmac.compare_digest(fields["response"], self.expected(method, fields, credential)):
            return Verdict.REJECTED
        nonce = self._nonces.get(fields["nonce"])
        if (
            nonce is None
            or self.clock() - nonce.issued > self.lifetime
            or not self._answerable(nonce, credential)
        ):
            return Verdict.STALE
        count = int(fields["nc"], 16)
        if count in nonce.seen:
            return Verdict.REJECTED  # a replayed request
        nonce.seen.add(count)
        return Verdict.ACCEPTED

    def _answerable(self, nonce: _Nonce, credential: Credential) -> bool:
        """Whether this user may answer the nonce (always, unless per_user)."""
        if self.per_user:
            nonce.user = nonce.user or credential.username
            return nonce.user == credential.username
        return True

    def _fields_match(self, fields: dict[str, str], target: str, credential: Credential) -> bool:
        try:
            int(fields["nc"], 16)
        except ValueError:
            return False
        return (
            fields["username"] == credential.username
            and fields["realm"] == REALM
            and fields["qop"] == "auth"
            and fields.get("algorithm", "MD5").upper() == self.algorithm
            and fields.get("opaque", self.opaque) == self.opaque
            # The digest covers the URI the client signed; it must be the one requested.
            and fields["uri"] == target
        )

    def expected(self, method: str, fields: dict[str, str], credential: Credential) -> str:
        def h(*parts: str) -> str:
            return HASHES[self.algorithm](":".join(parts).encode()).hexdigest()

        ha1 = h(credential.username, REALM, credential.password)
        ha2 = h(method, fields["uri"])
        return h(ha1, fields["nonce"], fields["nc"], fields["cnonce"], fields["qop"], ha2)

    def _forget_expired(self) -> None:
        now = self.clock()
        while self._nonces:
            oldest = next(iter(self._nonces))
            if now - self._nonces[oldest].issued <= self.lifetime:
                break
            del self._nonces[oldest]
