"""The values the extension members of each problem type carry, as the spec shows them: one the server
sends, per member (app/openapi_contract.py puts it on the member's schema and, for a member every
occurrence carries, in the problem type's example). tests/test_openapi_examples.py checks that every
member has one and that each is valid."""

from __future__ import annotations

from typing import Any

from app.domain.conflicts import (
    AlreadyMapped,
    AlreadyMember,
    GesdentNotConfigured,
    MemberCannotBePortal,
    MemberHasMappings,
    NameTaken,
    PortalHasMembers,
    PortalNotReady,
    ServiceCodeTaken,
    ServiceMapped,
)
from app.domain.errors import (
    CsvTooManyRows,
    FieldError,
    InvalidCsv,
    InvalidCursor,
    MissingScope,
    NotFound,
    PorticoError,
    PreconditionFailed,
    RepeatedQueryParameter,
    UnknownQueryParameter,
    UnmetRequirement,
    ValidationFailed,
)
from app.domain.manifest_problems import ManifestInvalid, ManifestProblem

BODY_ERROR: FieldError = {
    "field": "body.instance",
    "message": "'Clinic-North' is not a database name (lower-case letters, digits and underscores, at "
    "most 60 after the tt_ prefix); did you mean 'tt_clinic_north'?",
}
CSV_ERROR: FieldError = {
    "line": 3,
    "field": "duration_minutes",
    "message": "must be a whole number of minutes from 1 to 1440",
}
MANIFEST_PROBLEM: ManifestProblem = {
    "type": "/problems/already-member",
    "title": "The instance is already a member of a portal",
    "status": 409,
    "detail": "tt_clinic_north is already a member of portal tt_portal_sanitas",
    "target": "tt_clinic_north",
}
UNMET: UnmetRequirement = {
    "code": "communications-enabled",
    "message": "the general switch for automatic SMS, voice and e-mail must be off",
}

# By problem type, then member; a type shows its own, else that of the type it refines.
MEMBERS: dict[type[PorticoError], dict[str, Any]] = {
    MissingScope: {"required_scope": "instances:write"},
    NotFound: {
        "instance": "tt_clinic_nort",
        "suggestions": ["tt_clinic_north", "tt_clinic_south"],
        "service": "LIMPZ",
        "key": "timezone",
    },
    PreconditionFailed: {"etag": '"e53ea6f0d23dcffec7b55a97173f6b95"'},
    CsvTooManyRows: {"max_rows": 10000, "setting": "PORTICO_MAX_CSV_ROWS"},
    ValidationFailed: {"errors": [BODY_ERROR]},
    InvalidCsv: {"errors": [CSV_ERROR]},
    InvalidCursor: {"errors": [{"field": "query.cursor", "message": "not a cursor of this list"}]},
    UnknownQueryParameter: {
        "errors": [
            {
                "field": "query.dry-run",
                "message": "unknown query parameter 'dry-run'; did you mean 'dry_run'? This route takes: "
                "'mode', 'dry_run', 'cascade'.",
            }
        ]
    },
    RepeatedQueryParameter: {
        "errors": [{"field": "query.limit", "message": "'limit' is given 2 times; it takes one value"}]
    },
    ManifestInvalid: {"problems": [MANIFEST_PROBLEM]},
    NameTaken: {"instance": "tt_clinic_north"},
    PortalNotReady: {"unmet_requirements": [UNMET]},
    PortalHasMembers: {"member_count": 3},
    MemberCannotBePortal: {"portal": "tt_portal_sanitas"},
    AlreadyMember: {"portal": "tt_portal_sanitas"},
    ServiceCodeTaken: {"service": "LIMP"},
    ServiceMapped: {"mapping_count": 1, "services": ["ORTO"]},
    MemberHasMappings: {"mapping_count": 2},
    AlreadyMapped: {"existing_portal_service": "BLANQ"},
    GesdentNotConfigured: {
        "missing": ["resource_ids", "users password", "reservations password", "availability password"]
    },
}

# The `request_id` every problem shows (app/request_log.py makes ids of this form).
REQUEST_ID = "4bf92f3577b34da6a3ce929d0e0e4736"

# The objects the members hold, by the name of their schema.
OBJECTS: dict[str, list[Any]] = {
    "FieldError": [BODY_ERROR, CSV_ERROR],
    "UnmetRequirement": [UNMET],
    "ManifestProblem": [MANIFEST_PROBLEM],
}


def member_example(kind: type[PorticoError], name: str) -> Any:
    """The value member `name` of problem type `kind` shows in the spec; None when it has none."""
    return next((MEMBERS[k][name] for k in kind.__mro__ if name in MEMBERS.get(k, {})), None)
