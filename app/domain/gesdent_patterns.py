"""The forms a caller writes GESDENT connection rules in, as the JSON Schema patterns the spec
publishes (ECMA-262 regular expressions that Python's `re` reads the same way). Each says exactly what
the rules in app/domain/gesdent.py take: tests/unit/domain/test_gesdent_patterns.py checks the two
against each other on generated values.
"""

from __future__ import annotations

# What str.strip() and str.split() take for whitespace (str.isspace()), spelt out: `\s` is another
# set in each regex dialect. Those below U+0020 are control characters too.
_CONTROL_SPACE = r"\t\n\x0b\x0c\r\x1c-\x1f"
_SPACE = r" \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_CONTROL = r"\x00-\x1f\x7f"

# --- Resource IDs ------------------------------------------------------------------------------------

# An ID: letters (either case: it is upper-cased) and digits, in two or more groups joined by hyphens.
_ID = r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+"
# One item of the list form: an ID, whitespace around it forgiven (the item is at most 100 long).
RESOURCE_ID_ITEM_PATTERN = rf"^[{_CONTROL_SPACE}{_SPACE}]*{_ID}[{_CONTROL_SPACE}{_SPACE}]*$"
# The text form, as pasted: 1 to MAX_LISTED IDs of at most 100 characters each, separated by commas,
# semicolons or whitespace.
MAX_LISTED = 50
_SEPARATOR = rf"[{_CONTROL_SPACE}{_SPACE},;]"
_BOUNDED_ID = rf"(?=[A-Za-z0-9-]{{3,100}}(?![A-Za-z0-9-])){_ID}"
RESOURCE_IDS_TEXT_PATTERN = (
    rf"^{_SEPARATOR}*{_BOUNDED_ID}(?:{_SEPARATOR}+{_BOUNDED_ID}){{0,{MAX_LISTED - 1}}}{_SEPARATOR}*$"
)

# --- A credential as the procedure writes it: "username:password" --------------------------------------

# The username before the first colon, 1 to 200 characters once the whitespace around it is removed
# (a tab of a pasted table too); the password after it, at most 500 so trimmed (none: keep the stored
# one). Neither holds a control character.
_AROUND = rf"[{_CONTROL_SPACE}{_SPACE}]*"
_USER_CHAR, _USER_EDGE = rf"[^:{_CONTROL}]", rf"[^:{_CONTROL}{_SPACE}]"
_PASSWORD_CHAR, _PASSWORD_EDGE = rf"[^{_CONTROL}]", rf"[^{_CONTROL}{_SPACE}]"
CREDENTIAL_PATTERN = (
    rf"^{_AROUND}{_USER_EDGE}(?:{_USER_CHAR}{{0,198}}{_USER_EDGE})?{_AROUND}:"
    rf"{_AROUND}(?:{_PASSWORD_EDGE}(?:{_PASSWORD_CHAR}{{0,498}}{_PASSWORD_EDGE})?)?{_AROUND}$"
)

# --- A base URL ----------------------------------------------------------------------------------------

# http or https, a host (DNS labels in ASCII, an IPv4 address, or an IPv6 one in brackets), an
# optional port from 0 to 65535, an optional path of RFC 3986 characters; no credentials, query or
# fragment. An international host name is written in its xn-- form.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HEX = r"[0-9A-Fa-f]{1,4}"
_IPV6 = "|".join(
    [
        rf"(?:{_HEX}:){{7}}{_HEX}",
        rf"(?:{_HEX}:){{1,7}}:",
        rf"(?:{_HEX}:){{1,6}}:{_HEX}",
        *(rf"(?:{_HEX}:){{1,{6 - n}}}(?::{_HEX}){{1,{n + 1}}}" for n in range(1, 6)),
        rf":(?:(?::{_HEX}){{1,7}}|:)",
    ]
)
_PORT = r"(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
BASE_URL_PATTERN = (
    rf"^[Hh][Tt][Tt][Pp][Ss]?://(?:{_LABEL}(?:\.{_LABEL})*\.?|\[(?:{_IPV6})\])(?::{_PORT})?"
    r"(?:/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*)?$"
)
