"""HTTP Digest for the requests of one run: one challenge per server, whatever the credential.

A run reads with up to three credentials (app/domain/gesdent.py), and httpx's `DigestAuth` keeps a
challenge per credential: three 401 round trips a run, one for each first request. A Digest nonce
is the server's, not a user's (RFC 7616: the client counts the requests it sends with a nonce), so
the first challenge of the run is answered by every credential, each request with the next count
of that nonce, shared by the credentials so that no count is sent twice.

A server that does tie a nonce to the user who first answered it refuses the other users' answers
with a new challenge (stale, or a plain 401): httpx's flow then answers that one, as before, and the
credential keeps the challenge it was sent for the rest of the run. There, each credential pays
one refused request, as it paid one challenge before; a credential the server rejects still ends
in a 401 after a fresh answer (app/sync/requests.py: CredentialsRejected)."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from httpx._auth import _DigestAuthChallenge


class ServerChallenge:
    """The last challenge a server sent the run, and the nonce counts sent with its nonces."""

    def __init__(self) -> None:
        self.last: _DigestAuthChallenge | None = None
        self._counts: dict[bytes, int] = {}

    def count(self, nonce: bytes) -> int:
        """The next nonce count for `nonce`, across every credential of the run."""
        count = self._counts[nonce] = self._counts.get(nonce, 0) + 1
        return count


class RunDigest(httpx.DigestAuth):
    """httpx's Digest for one credential, answering the run's last challenge until the server sends
    one to this credential, and that one from then on."""

    def __init__(self, username: str, password: str, server: ServerChallenge) -> None:
        super().__init__(username, password)
        self._server = server

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        challenge = self._last_challenge or self._server.last
        if challenge is not None:
            request.headers["Authorization"] = self._answer(request, challenge)
        response = yield request
        if response.status_code != httpx.codes.UNAUTHORIZED:
            return
        header = next(
            (h for h in response.headers.get_list("www-authenticate") if h.lower().startswith("digest ")),
            None,
        )
        if header is None:
            return
        challenge = self._last_challenge = self._server.last = self._parse_challenge(
            request, response, header
        )
        request.headers["Authorization"] = self._answer(request, challenge)
        if response.cookies:
            httpx.Cookies(response.cookies).set_cookie_header(request=request)
        yield request

    def _answer(self, request: httpx.Request, challenge: _DigestAuthChallenge) -> str:
        self._nonce_count = self._server.count(challenge.nonce)
        return self._build_auth_header(request, challenge)
