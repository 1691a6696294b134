"""Errors with an RFC 9457 problem type. The web layer renders them; nothing here knows HTTP routing.

Each class is one problem type: its `slug` names it (`/problems/<slug>`), its docstring says when it
happens, `fix` what the caller can do about it, and `members` the extension members its body carries
beyond `type`, `title`, `status` and `detail`. The spec's schema of each type and the page its `type`
URI serves are built from these, and an error raised with a member its class does not declare is a
programming error (TypeError), so that what the spec promises is what the server sends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, NotRequired

from typing_extensions import TypedDict

from app.domain.values import RequirementCode


class FieldError(TypedDict):
    """One invalid field (`field`) or CSV line (`line`); a CSV error about a whole line has `field`
    null."""

    field: NotRequired[str | None]
    line: NotRequired[int]
    message: str


class UnmetRequirement(TypedDict):
    """A condition a portal must meet before it takes members."""

    code: RequirementCode
    message: str


@dataclass(frozen=True)
class Member:
    """An extension member of a problem: its type (as Python writes it) and what it holds."""

    type: Any
    description: str
    optional: bool = False  # some occurrences of the problem lack it


ERRORS = Member(list[FieldError], "Every invalid field or CSV line, with what is wrong with it.")
INSTANCE = Member(str, "The name of the instance concerned.")
PORTAL = Member(str, "The portal the instance is a member of.")


class PorticoError(Exception):
    """The request is malformed: e.g. a body that is not UTF-8, or a form the server cannot parse."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"
    fix: ClassVar[str] = "Correct the request as `detail` says and send it again."
    members: ClassVar[Mapping[str, Member]] = {}

    def __init__(self, detail: str, **extensions: Any) -> None:
        declared = self.extension_members()
        undeclared = extensions.keys() - declared.keys()
        missing = {name for name, member in declared.items() if not member.optional} - extensions.keys()
        if undeclared or missing:
            raise TypeError(
                f"{type(self).__name__}: undeclared members {sorted(undeclared)}, missing {sorted(missing)}"
            )
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions
        self.headers: list[tuple[str, str]] = []  # a name may repeat (WWW-Authenticate)

    @classmethod
    def extension_members(cls) -> dict[str, Member]:
        """The members this problem type carries: its own and those of the types it refines."""
        found: dict[str, Member] = {}
        for kind in reversed(cls.__mro__):
            found.update(vars(kind).get("members", {}))
        return found

    @classmethod
    def description(cls) -> str:
        return " ".join((cls.__doc__ or cls.title).split())


class Unauthorized(PorticoError):
    """The request has no API key, or a key that is unknown, revoked or malformed."""

    status, slug, title = 401, "unauthorized", "Missing or invalid API key"
    fix = "Send `Authorization: Bearer <API key>` with a key that is active; the operator issues keys."


class Forbidden(PorticoError):
    """The API key is valid but may not do this."""

    status, slug, title = 403, "forbidden", "Forbidden"
    fix = "Use a key that is allowed to do this."


class MissingScope(Forbidden):
    """The API key is valid but lacks the scope the route needs (e.g. `instances:write` to change an
    instance)."""

    slug, title = "missing-scope", "The API key lacks a required scope"
    fix = "Ask the operator for a key with the scope in `required_scope`, or use one you have."
    members = {"required_scope": Member(str, "The scope the route needs, e.g. `instances:write`.")}


class MasterKeyNotAllowed(Forbidden):
    """The master key was sent to a route of a partner's data; it only administers partners and keys."""

    slug, title = "master-key-not-allowed", "The master key only administers partners and API keys"
    fix = "Create a partner and an API key with the master key, then call this route with that key."


class CsrfRejected(Forbidden):
    """A form of the report page came from another site, or with a token that expired or belongs to
    another key."""

    slug, title = "csrf-rejected", "The form did not come from one of Portico's pages"
    fix = "Reload the report page and use its buttons again."


class MasterKeyRequired(Forbidden):
    """A partner key was sent to a route that administers partners and API keys."""

    slug, title = "master-key-required", "This route needs the master key"
    fix = "Call partner administration with the master key (PORTICO_MASTER_KEY)."


class NotFound(PorticoError):
    """Nothing by that name or id exists for this key's partner. Another partner's data answers the same,
    so that its existence does not leak."""

    status, slug, title = 404, "not-found", "Not found"
    fix = "Check the name or id in the path; `suggestions` lists close names where there are some."
    members = {
        "instance": Member(str, "The name of the instance that was not found.", optional=True),
        "suggestions": Member(list[str], "Instance names close to the one asked for.", optional=True),
        "service": Member(str, "The service code that was not found.", optional=True),
        "key": Member(str, "The setting key that was not found.", optional=True),
    }


class MethodNotAllowed(PorticoError):
    """The path exists but does not take this method."""

    status, slug, title = 405, "method-not-allowed", "Method not allowed"
    fix = "Use one of the methods the `Allow` header lists."


class Conflict(PorticoError):
    """An invariant of the procedure would be broken."""

    status, slug, title = 409, "conflict", "Conflict"
    fix = "Read `detail`: it names the invariant and what to do first."


class PreconditionFailed(PorticoError):
    """`If-Match` names an ETag that is no longer the resource's: someone changed it since you read it,
    and your change would overwrite theirs."""

    status, slug, title = 412, "precondition-failed", "The resource changed since the ETag given in If-Match"
    fix = "Read the resource again, apply your change to what it is now, and send it with the new ETag."
    members = {
        "etag": Member(str, "The resource's current ETag; absent when it does not exist.", optional=True)
    }


class PayloadTooLarge(PorticoError):
    """The request body is larger than the route takes."""

    status, slug, title = 413, "payload-too-large", "Request body too large"
    fix = "Send a smaller body; a large CSV can be split into several imports in `upsert` mode (the default)."


class CsvTooManyRows(PayloadTooLarge):
    """The CSV has more data rows than one import takes."""

    slug, title = "csv-too-many-rows", "The CSV has more rows than the import takes"
    fix = (
        "Split the CSV and import the parts in `upsert` mode (the default), or ask the operator for a "
        "higher limit."
    )
    members = {
        "max_rows": Member(int, "The most data rows one import takes."),
        "setting": Member(str, "The setting that sets the limit."),
    }


class RateLimited(PorticoError):
    """Too many requests: the API key spent its quota (`RateLimit-Limit` requests per window of
    `RateLimit-Policy`), or the client address sent too many failed authentications."""

    status, slug, title = 429, "rate-limited", "Too many requests"
    fix = (
        "Wait the seconds `Retry-After` gives, then retry; pace requests by `RateLimit-Remaining` and "
        "`RateLimit-Reset`, or ask the operator for a higher limit."
    )


class RequestHeaderFieldsTooLarge(PorticoError):
    """The request's header fields are larger than the server takes."""

    status, slug, title = 431, "request-header-fields-too-large", "Request header fields too large"
    fix = "Send fewer or shorter header fields."


class ValidationFailed(PorticoError):
    """A path, query, header or body value is invalid; `errors` lists each with what is wrong."""

    status, slug, title = 422, "validation-error", "Invalid input"
    fix = "Correct every field `errors` lists and send the request again."
    members = {"errors": ERRORS}

    def __init__(self, detail: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(detail, errors=errors)


class InvalidCursor(ValidationFailed):
    """The `cursor` was not issued by this list, was altered, or belongs to another filter."""

    slug, title = "invalid-cursor", "Invalid pagination cursor"
    fix = "Start again from the first page, without `cursor`, and follow `next_cursor` or `Link`."


class UnknownQueryParameter(ValidationFailed):
    """The query string names a parameter the route does not take (a typo is not silently ignored)."""

    slug, title = "unknown-query-parameter", "Unknown query parameter"
    fix = "Remove the parameter or correct its spelling; the route's documentation lists those it takes."


class RepeatedQueryParameter(ValidationFailed):
    """A query parameter that takes one value was given more than once."""

    slug, title = "repeated-query-parameter", "Query parameter given more than once"
    fix = "Send the parameter once."


class InvalidCsv(ValidationFailed):
    """The CSV has invalid rows (or no `file` part in a form); nothing of it was written."""

    slug, title = "invalid-csv", "The CSV has invalid rows; nothing was written"
    fix = "Correct every line `errors` lists and import the whole file again."


class UnsupportedMediaType(PorticoError):
    """The body's `Content-Type` is not one the route takes."""

    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"
    fix = "Send the body as the route's documentation says, e.g. `Content-Type: application/json`."


class InvalidSignature(Unauthorized):
    """The webhook's signature, id or timestamp does not verify against the instance's secret, or the
    timestamp is more than five minutes away, or the message id was seen already."""

    slug, title = "invalid-signature", "The webhook signature does not verify"
    fix = (
        "Sign `id.timestamp.body` with the instance's webhook secret (Standard Webhooks) and send it at once."
    )


class HttpError(PorticoError):
    """An HTTP error of the framework that no other type describes (its status is the error's own)."""

    slug, title = "http-error", "HTTP error"
    fix = "Read `status` and `detail`."


class InternalError(PorticoError):
    """Something failed inside Portico. It is logged with the `request_id` the problem carries."""

    status, slug, title = 500, "internal-error", "Internal server error"
    fix = "Retry later; if it persists, give the operator the `request_id`."


class DatabaseBusy(PorticoError):
    """Another write held the (SQLite) database longer than the request could wait; nothing of the
    request was written."""

    status, slug, title = 503, "database-busy", "The database is busy"
    fix = "Retry after the seconds `Retry-After` gives."
