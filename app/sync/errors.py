"""What stops a GESDENT request from yielding usable data, as errors that name the request: its
endpoint, its path on the server and the credential family it was sent with (`CREDENTIAL_OF` in
app/domain/gesdent.py, the contract's pairing, which the client also uses to pick the credential).
Messages never hold a password, nor anything of an answer's body (it may hold patient data).
"""

from __future__ import annotations

from app.domain.gesdent import CREDENTIAL_OF, Endpoint
from app.sync.answers import Limit


class GesdentError(Exception):
    """Anything that stops a GESDENT request from yielding usable data. `endpoint` is the family."""

    def __init__(self, message: str, endpoint: str | None = None) -> None:
        super().__init__(message)
        self.endpoint = endpoint


def request_context(endpoint: Endpoint, path: str) -> str:
    """How an error names the request: the endpoint, the path and the credential family it used."""
    family = CREDENTIAL_OF[endpoint]
    why = ", which GESDENT asks for on resources" if endpoint != family else ""
    return f"{endpoint} endpoint (GET {path}, with the {family} credential{why})"


class CredentialsRejected(GesdentError):
    """GESDENT answered 401 to the digest answer: the credential of that family is wrong."""

    def __init__(
        self, endpoint: Endpoint, path: str, credential: tuple[str, str], answered: bool = True
    ) -> None:
        family = CREDENTIAL_OF[endpoint]
        username, password = credential
        how = "after the Digest answer" if answered else "without a Digest challenge"
        message = (
            f"GESDENT rejected the {family} credentials (username {username!r}) on the "
            f"{request_context(endpoint, path)}: 401 {how}. Check the {family} username and password "
            "of the connection rules"
        )
        if username != username.strip() or password != password.strip():
            what = "username" if username != username.strip() else "password"
            message += (
                f'; the stored {what} starts or ends with whitespace (the "username:password" form '
                "removes it, the object form keeps it)"
            )
        super().__init__(message, endpoint)
        self.family = family


class GesdentUnavailable(GesdentError):
    """Transient failures until the retries ran out."""


class RunDeadlineExceeded(GesdentUnavailable):
    """The run's deadline leaves no time for the request, or for the wait before retrying it."""


class GesdentProtocolError(GesdentError):
    """An answer that breaks the contract: not JSON, unexpected shape, redirect, 4xx (unknown resource…)."""


class AnswerTooLarge(GesdentProtocolError):
    """An answer larger than its endpoint family's limit; not retried (it would come again)."""

    def __init__(self, endpoint: str, where: str, limit: Limit, announced: int | None) -> None:
        size = f"{limit.bytes} bytes ({limit.bytes / 2**20:g} MiB)"
        if announced is not None:
            what = f"announced an answer of {announced} bytes (Content-Length), more than {size}"
        else:
            what = f"answered more than {size}"
        super().__init__(
            f"{where} {what}, the limit for {limit.what}; the answer was not read further. If "
            f"GESDENT's answers are really this large, raise {limit.setting}",
            endpoint,
        )


class AddressForbidden(GesdentError):
    """base_url leads to an address a GESDENT server may not have (see app/sync/network.py)."""
