"""The GESDENT contract's vocabulary (its streams, endpoint families and credential families), an
instance's connection rules, and the rules they follow: resource IDs, credentials, the base URL
and where it may point (app/domain/addresses.py: which addresses are public)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal, get_args
from urllib.parse import urlsplit

from app.domain.addresses import forbidden_address, parse_address
from app.domain.gesdent_patterns import BASE_URL_PATTERN, MAX_LISTED

# The streams of an import run, in the order it imports them. Each reads the endpoint family of
# its name, so the two share one list.
Stream = Literal["resources", "users", "reservations", "availability"]
STREAMS: tuple[Stream, ...] = get_args(Stream)
Endpoint = Stream
# What a change notification may name: a stream, or `patients` for the users stream (what it holds).
# Spelled out: Literal[Stream, "patients"] would put `patients` last in the published schema.
NotifiedStream = Literal["resources", "users", "patients", "reservations", "availability"]
STREAM_ALIASES: dict[str, Stream] = {"patients": "users"}

# The credential families of a connection, and the one each endpoint family is read with.
Family = Literal["users", "reservations", "availability"]
FAMILIES: tuple[Family, ...] = get_args(Family)
CREDENTIAL_OF: dict[Endpoint, Family] = {
    "resources": "availability",
    "users": "users",
    "reservations": "reservations",
    "availability": "availability",
}

RESOURCE_ID_RE = re.compile(r"^[A-Z0-9]+(-[A-Z0-9]+)+$")
# As written: ASCII letters of either case (str.upper() would make "\u00df-1" SS-1, "\u0131-1" I-1).
_WRITTEN_ID_RE = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+")
MAX_RESOURCES = 50

# How long each field GESDENT sends may be as Portico keeps it: the lengths of the gesdent_* columns
# (app/db/models/sync_data.py), which the importer checks before a row reaches the database.
ID_LENGTH = 100  # an item's id, a resource's id
MOMENT_LENGTH = 64  # an RFC 3339 date-time as sent: updated_at, start, end
RESOURCE_NAME_LENGTH = 300
KIND_LENGTH = 32
PERSON_NAME_LENGTH = 200  # a patient's first or last name
PHONE_LENGTH = 64
EMAIL_LENGTH = 320  # the longest address RFC 5321 allows
DATE_LENGTH = 10  # YYYY-MM-DD
MEMBER_CODE_LENGTH = 64
STATUS_LENGTH = 16
TREATMENT_CODE_LENGTH = 32
TREATMENT_CODES_LENGTH = 400  # a slot's treatment codes, space-separated


@dataclass(frozen=True)
class ConnectionRules:
    """An instance's connection rules, passwords decrypted: (username, password) per family."""

    base_url: str
    resource_ids: list[str]
    credentials: Mapping[str, tuple[str, str]]
    window_days: int = 14

    def __repr__(self) -> str:  # never show the passwords
        users = {family: username for family, (username, _) in self.credentials.items()}
        return (
            f"ConnectionRules(base_url={self.base_url!r}, resource_ids={self.resource_ids!r}, "
            f"window_days={self.window_days}, usernames={users!r})"
        )


def notified_streams(names: Collection[str] | None) -> tuple[Stream, ...]:
    """The streams a change notification asks for (all of them when it names none), in import order."""
    wanted = {STREAM_ALIASES.get(name, name) for name in names or ()}
    return tuple(stream for stream in STREAMS if stream in wanted) or STREAMS


def normalise_resource_ids(values: list[str]) -> tuple[list[str], list[str]]:
    """(normalised ids in first-seen order without repeats, problems). Case and spaces are forgiven."""
    ids: list[str] = []
    problems: list[str] = []
    for index, value in enumerate(values):
        written = value.strip()
        normalised = written.upper()
        if not _WRITTEN_ID_RE.fullmatch(written) or len(normalised) > ID_LENGTH:
            problems.append(
                f"resource_ids[{index}]: {value!r} is not a GESDENT resource ID (e.g. EJEJQKV5-ETREAXNR)"
            )
        elif normalised not in ids:
            ids.append(normalised)
    if not values:
        problems.append("resource_ids: at least one resource ID is needed")
    if len(ids) > MAX_RESOURCES:
        problems.append(f"resource_ids: at most {MAX_RESOURCES}")
    return ids, problems


def split_credential(value: str) -> tuple[str, str] | None:
    """The procedure's `username:password` form, as pasted: the whitespace around the username and
    around the password is not part of them (`digest: wOPn…` is user `digest`). None when there is
    no colon or no username."""
    username, sep, password = value.partition(":")
    username, password = username.strip(), password.strip()
    if not sep or not username:
        return None
    return username, password


_RESOURCE_ID_SEPARATORS = re.compile(r"[\s,;]+")


def split_resource_ids(text: str) -> list[str]:
    """Resource IDs pasted as one string: separated by commas, semicolons, spaces or line breaks."""
    return [part for part in _RESOURCE_ID_SEPARATORS.split(text) if part]


def listed_ids_problem(text: str) -> str | None:
    """Why one string of resource IDs lists too many (repeats included: a pattern cannot tell them)."""
    listed = len(split_resource_ids(text))
    return f"resource_ids: at most {MAX_LISTED} IDs in one string ({listed})" if listed > MAX_LISTED else None


def base_url_problem(url: str) -> str | None:  # noqa: PLR0911 (one return per rule, in order)
    """Why `url` cannot be a GESDENT base URL (scheme, host, credentials, query), or None."""
    if " " in url or not url.isprintable():  # urlsplit would pass them; the requests would go astray
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError as exc:
        return f"not a URL: {exc}"
    if parts.scheme not in ("http", "https"):
        return "must be an http:// or https:// URL"
    if not parts.hostname:
        return "must name a host"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials; use the credentials fields"
    if "?" in url or "#" in url:  # an empty one too: "https://g/?" would be stored as "https://g/?/"
        return "must not have a query or fragment"
    return None


_BASE_URL_RE = re.compile(BASE_URL_PATTERN)


def base_url_form_problem(url: str) -> str | None:
    """Why `url`, which base_url_problem takes, is not in the form the API publishes, or None: a host
    name in ASCII (xn-- for an international one), an IP address, a port, a path of URL characters."""
    if _BASE_URL_RE.fullmatch(url):
        return None
    return (
        "must be http(s)://host[:port][/path], the host a name in ASCII (xn-- for an international "
        "one), an IPv4 address or an IPv6 one in brackets, the path of URL characters"
    )


def normalise_base_url(url: str) -> str:
    """Paths in the contract are relative to the base URL, so it ends with a slash."""
    return url if url.endswith("/") else url + "/"


def literal_address_problem(url: str) -> str | None:
    """Why the host of `url`, when it is an IP address written out, is off limits (SSRF), or None.
    Host names are checked when they are resolved (app/sync/network.py)."""
    host = urlsplit(url).hostname or ""
    ip = parse_address(host)
    reason = None if ip is None else forbidden_address(ip)
    return f"points at {reason} ({host})" if reason else None


def schedule_phase(instance_id: str) -> int:
    """An instance's place in the schedule, from its id: evenly spread over the fleet, and the same
    on every replica and after every restart. Its slots start `phase % interval` minutes past the
    multiples of the interval."""
    return int.from_bytes(hashlib.sha256(instance_id.encode()).digest()[:4]) >> 1
