"""Value rules shared by every layer: instance names, setting keys, text without control bytes."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

INSTANCE_PREFIX = "tt_"
# The longest label people read: a service's name, an instance's display name, a partner's name.
LABEL_LENGTH = 200
_DEL = 0x7F  # with the C0 controls below 0x20, what a single line of text may not hold
# How an instance (database) name is stored and answered...
INSTANCE_NAME_PATTERN = r"^tt_[a-z0-9_]{1,60}$"
# ...and how a caller may write it: the procedure often leaves out the `tt_` (the clone step asks for
# `sanitas_gesdent_digest`, the manual run URL says `tt_sanitas_gesdent_digest`).
INSTANCE_NAME_INPUT_PATTERN = r"^(tt_)?[a-z0-9_]{1,60}$"
SETTING_KEY_PATTERN = r"^[A-Za-z][A-Za-z0-9_.\-]{0,99}$"
INSTANCE_NAME_RE = re.compile(INSTANCE_NAME_PATTERN)
_BARE_NAME_RE = re.compile(r"^[a-z0-9_]{1,60}$")


def canonical_instance_name(value: str) -> str:
    """The stored form of an instance name written with or without `tt_`. A near miss (capitals,
    hyphens, spaces, accents) raises ValueError with the valid name to use instead."""
    if INSTANCE_NAME_RE.match(value):
        return value
    if _BARE_NAME_RE.match(value):  # even `tt_` alone: the pattern callers are given says so
        return INSTANCE_PREFIX + value
    rule = "lower-case letters, digits and underscores, at most 60 after the tt_ prefix"
    suggestion = _suggest_instance_name(value)
    if suggestion is None:
        raise ValueError(f"{value[:80]!r} is not a database name ({rule})")
    raise ValueError(f"{value[:80]!r} is not a database name ({rule}); did you mean {suggestion!r}?")


def _suggest_instance_name(value: str) -> str | None:
    lowered = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().strip().lower()
    rest = re.sub(r"[^a-z0-9_]+", "_", lowered).removeprefix(INSTANCE_PREFIX).strip("_")
    if not rest:
        return None
    name = INSTANCE_PREFIX + rest
    return name if INSTANCE_NAME_RE.match(name) else None


def text_problem(value: str, *, single_line: bool) -> str | None:
    """Why `value` cannot be stored as text (NUL, lone surrogates, control characters), or None."""
    if "\x00" in value:
        return "must not contain NUL bytes"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (no lone surrogates)"
    if single_line and any(c < " " or ord(c) == _DEL for c in value):
        return "must not contain control characters"
    return None


SERVICE_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}$"
SERVICE_CODE_RE = re.compile(SERVICE_CODE_PATTERN)
# Words that follow /services/ in URLs of their own; a service cannot take them as its code.
RESERVED_SERVICE_CODES = frozenset({"import", "export"})
MAX_DURATION_MINUTES = 1440
MAX_PRICE = 99_999_999
PRICE_DECIMALS = 2  # cents
# A price as JSON carries it: a decimal string, so that no binary floating point ever rounds a cent.
PRICE_PATTERN = rf"^(0|[1-9][0-9]{{0,{len(str(MAX_PRICE)) - 1}}})(\.[0-9]{{1,{PRICE_DECIMALS}}})?$"
PRICE_RE = re.compile(PRICE_PATTERN)


# Why a portal is not ready to take members: its setting, its communications, or it is a member itself.
RequirementCode = Literal["portal-instance-name", "communications-enabled", "is-member"]
