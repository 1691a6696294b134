"""When a GESDENT request is tried again, and after how long.

Transient failures (connect errors, timeouts, dropped connections, 429, 5xx) are retried with
exponential backoff and jitter, honouring `Retry-After` up to a cap. Any other failure is final (a
wrong credential, a redirect or another 4xx, an answer that breaks the contract or passes its size
limit). The attempts themselves, and the deadlines that can cut them short, are in
app/sync/requests.py.
"""

from __future__ import annotations

import email.utils
import random
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
# Transport failures worth another attempt: connect/read/write errors and timeouts, and a peer that
# closed the connection mid-answer. Not: unsupported scheme, invalid request, proxy trouble.
RETRIED_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5  # attempts in all, the first included
    base_delay: float = 0.5  # seconds before the 2nd attempt; doubles each time
    max_delay: float = 30.0  # cap on the backoff delay
    max_retry_after: float = 120.0  # cap on a server's Retry-After

    def backoff(self, attempt: int) -> float:
        """Delay after failed attempt number `attempt` (1-based): exponential, half of it jittered."""
        delay = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return delay / 2 + random.uniform(0, delay / 2)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is None:
            return self.backoff(attempt)
        return min(retry_after, self.max_retry_after)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())
