"""Value rules shared by every layer: instance names, setting keys, text without control bytes."""

from __future__ import annotations

import re

INSTANCE_NAME_PATTERN = r"^tt_[a-z0-9_]{1,60}$"
SETTING_KEY_PATTERN = r"^[A-Za-z][A-Za-z0-9_.\-]{0,99}$"
INSTANCE_NAME_RE = re.compile(INSTANCE_NAME_PATTERN)


def text_problem(value: str, *, single_line: bool) -> str | None:
    """Why `value` cannot be stored as text (NUL, lone surrogates, control characters), or None."""
    if "\x00" in value:
        return "must not contain NUL bytes"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (no lone surrogates)"
    if single_line and any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "must not contain control characters"
    return None


SERVICE_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}$"
SERVICE_CODE_RE = re.compile(SERVICE_CODE_PATTERN)
# Words that follow /services/ in URLs of their own; a service cannot take them as its code.
RESERVED_SERVICE_CODES = frozenset({"import", "export"})
MAX_DURATION_MINUTES = 1440
MAX_PRICE = 99_999_999
