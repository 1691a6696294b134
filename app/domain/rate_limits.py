"""Rates as operators and the master key write them: `100/second`, `6000/minute`, `500/10 seconds`.

A rate of N per window is a bucket of N requests; each request spent comes back one window after it
was spent (the moving window of app/rate_limits.py). One notation for `PORTICO_RATE_LIMIT`,
`PORTICO_AUTH_FAILURE_LIMIT` and a partner's `rate_limit`, checked here without I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
MAX_AMOUNT = 1_000_000  # a moving window keeps one timestamp per request spent: bounded memory
MAX_WINDOW_SECONDS = 86400
_RATE = re.compile(r"\s*(\d+)\s*/\s*(\d+)?\s*(second|minute|hour|day)s?\s*", re.IGNORECASE)
# The same forms, written one way and within the bounds (1 to 1,000,000 requests; a window of 1 second
# to 1 day), as the API's schema states them: what the pattern admits, parse_rate accepts.
RATE_PATTERN = (
    r"^(?:[1-9][0-9]{0,5}|1000000)/(?:second|minute|hour|day|"
    r"(?:[1-9][0-9]{0,3}|[1-7][0-9]{4}|8[0-5][0-9]{3}|86[0-3][0-9]{2}|86400) seconds)$"
)
RATE_FORMS = "N/second, N/minute, N/hour, N/day or N/M seconds (e.g. 100/second, 500/10 seconds)"


@dataclass(frozen=True)
class Rate:
    """At most `amount` requests in any `window_seconds`."""

    amount: int
    multiples: int
    unit: str

    @property
    def window_seconds(self) -> int:
        return self.multiples * UNITS[self.unit]

    def __str__(self) -> str:
        if self.multiples == 1:
            return f"{self.amount}/{self.unit}"
        return f"{self.amount}/{self.multiples} {self.unit}s"


def parse_rate(text: str) -> Rate:
    """The rate `text` writes, or ValueError saying which forms are accepted."""
    match = _RATE.fullmatch(text)
    if match is None:
        raise ValueError(f'"{text}" is not a rate; write {RATE_FORMS}')
    amount, multiples = int(match[1]), int(match[2] or 1)
    rate = Rate(amount, multiples, match[3].lower())
    if not 1 <= amount <= MAX_AMOUNT:
        raise ValueError(f"a rate allows 1 to {MAX_AMOUNT} requests per window, not {amount}")
    if not 1 <= rate.window_seconds <= MAX_WINDOW_SECONDS:
        raise ValueError(f"a rate's window lasts 1 second to 1 day, not {rate.window_seconds} seconds")
    return rate
