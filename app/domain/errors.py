"""Errors with an RFC 9457 problem type. The web layer renders them; nothing here knows HTTP routing."""

from __future__ import annotations

from typing import Any, ClassVar


class PorticoError(Exception):
    """Base of every error Portico reports to a caller."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions
        self.headers: list[tuple[str, str]] = []  # a name may repeat (WWW-Authenticate)


class Unauthorized(PorticoError):
    status, slug, title = 401, "unauthorized", "Missing or invalid API key"


class Forbidden(PorticoError):
    status, slug, title = 403, "forbidden", "Forbidden"


class MissingScope(Forbidden):
    slug, title = "missing-scope", "The API key lacks a required scope"


class MasterKeyNotAllowed(Forbidden):
    slug, title = "master-key-not-allowed", "The master key only administers partners and API keys"


class CsrfRejected(Forbidden):
    slug, title = "csrf-rejected", "The form did not come from one of Portico's pages"


class MasterKeyRequired(Forbidden):
    slug, title = "master-key-required", "This route needs the master key"


class NotFound(PorticoError):
    status, slug, title = 404, "not-found", "Not found"


class MethodNotAllowed(PorticoError):
    status, slug, title = 405, "method-not-allowed", "Method not allowed"


class NotAcceptable(PorticoError):
    status, slug, title = 406, "not-acceptable", "Not acceptable"


class Conflict(PorticoError):
    """An invariant of the procedure would be broken."""

    status, slug, title = 409, "conflict", "Conflict"


class PreconditionFailed(PorticoError):
    status, slug, title = 412, "precondition-failed", "The resource changed since the ETag given in If-Match"


class PayloadTooLarge(PorticoError):
    status, slug, title = 413, "payload-too-large", "Request body too large"


class CsvTooManyRows(PayloadTooLarge):
    slug, title = "csv-too-many-rows", "The CSV has more rows than the import takes"


class RequestHeaderFieldsTooLarge(PorticoError):
    status, slug, title = 431, "request-header-fields-too-large", "Request header fields too large"


class ValidationFailed(PorticoError):
    status, slug, title = 422, "validation-error", "Invalid input"

    def __init__(self, detail: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(detail, errors=errors)


class InvalidCursor(ValidationFailed):
    slug, title = "invalid-cursor", "Invalid pagination cursor"


class UnknownQueryParameter(ValidationFailed):
    slug, title = "unknown-query-parameter", "Unknown query parameter"


class RepeatedQueryParameter(ValidationFailed):
    slug, title = "repeated-query-parameter", "Query parameter given more than once"


# Invariant violations (DESIGN.md §2). Each has its own type so integrators can branch on it.


class NameTaken(Conflict):
    slug, title = "name-taken", "The name is already in use"


class PortalNotReady(Conflict):
    slug, title = "portal-not-ready", "The portal is not ready to take members"


class PortalHasMembers(Conflict):
    slug, title = "portal-has-members", "The portal has members"


class PortalCannotBeMember(Conflict):
    slug, title = "portal-cannot-be-member", "A portal cannot be a member"


class MemberCannotBePortal(Conflict):
    slug, title = "member-cannot-be-portal", "A member cannot become a portal"


class AlreadyMember(Conflict):
    slug, title = "already-member", "The instance is already a member of a portal"


class SelfMembership(Conflict):
    slug, title = "self-membership", "An instance cannot be a member of itself"


class ServiceCodeTaken(Conflict):
    slug, title = "service-code-taken", "The instance already has a service with this code"


class ServiceMapped(Conflict):
    slug, title = "service-mapped", "Mappings use the service"


class MemberHasMappings(Conflict):
    slug, title = "member-has-mappings", "The member has mappings"


class AlreadyMapped(Conflict):
    slug, title = "already-mapped", "The member service already maps to another portal service"


class ConcurrentChange(Conflict):
    """A database constraint refused the request's writes at commit: a concurrent request changed the
    same rows first. Nothing of the request was written; repeating it gives the up-to-date answer."""

    slug, title = "concurrent-change", "Another request changed the same data at the same moment"


class InvalidCsv(ValidationFailed):
    slug, title = "invalid-csv", "The CSV has invalid rows; nothing was written"


class UnsupportedMediaType(PorticoError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class SourceNotMember(Conflict):
    slug, title = "source-not-member", "The source instance is not a member of a portal"


class GesdentNotConfigured(Conflict):
    slug, title = (
        "gesdent-not-configured",
        "The instance's GESDENT connection rules are missing or incomplete",
    )


class InvalidSignature(Unauthorized):
    slug, title = "invalid-signature", "The webhook signature does not verify"


class HttpError(PorticoError):
    """An HTTP error of the framework that no class above describes (its status is the error's own)."""

    slug, title = "http-error", "HTTP error"


class InternalError(PorticoError):
    status, slug, title = 500, "internal-error", "Internal server error"


class DatabaseBusy(PorticoError):
    status, slug, title = 503, "database-busy", "The database is busy"
