"""The delivery loop: run by every sync service (`portico worker`, `portico serve`) beside the sync
workers. It claims due deliveries (app/events/queue.py), POSTs each event with the Standard Webhooks
headers, and records the outcome: 2xx delivered; 410 Gone disables the endpoint; anything else is
retried on the schedule (app/domain/events.py), Retry-After honoured within bounds.

The body is `{"type", "timestamp", "data"}`; `webhook-id` is the event's id (the same on every
attempt: receivers deduplicate on it), `webhook-timestamp` the time of the attempt, and
`webhook-signature` one `v1,` signature per secret that signs (two for a day after a rotation)."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from opentelemetry.instrumentation.utils import suppress_instrumentation
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from app.config import Settings
from app.crypto import SecretBox
from app.domain.events import RETRY_SCHEDULE, verdict
from app.events import queue
from app.metrics import Metrics
from app.sync.network import PublicOnlyTransport
from app.sync.retries import parse_retry_after

log = logging.getLogger("portico.events")
USER_AGENT = "portico-webhooks"
RECORDING = 4  # outcomes recorded side by side (each a transaction of its own)


@dataclass(frozen=True)
class DeliveryPolicy:
    schedule: tuple[float, ...] = RETRY_SCHEDULE
    timeout_seconds: float = 10.0
    lease_seconds: float = 60.0
    batch: int = 50  # deliveries claimed, and sent side by side, at a time
    poll_seconds: float = 1.0
    allow_private_networks: bool = False  # PORTICO_GESDENT_ALLOW_PRIVATE_NETWORKS

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryPolicy:
        return cls(
            schedule=settings.webhook_retry_delays,
            timeout_seconds=settings.webhook_timeout_seconds,
            lease_seconds=max(settings.webhook_lease_seconds, settings.webhook_timeout_seconds + 5),
            allow_private_networks=settings.gesdent_allow_private_networks,
        )


def body_of(claimed: queue.Claimed) -> str:
    created = claimed.event_created_at
    created = created if created.tzinfo else created.replace(tzinfo=UTC)
    stamp = created.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return f'{{"type":{json.dumps(claimed.event_type)},"timestamp":"{stamp}","data":{claimed.payload}}}'


def signed_headers(claimed: queue.Claimed, secrets: list[str], body: str, now: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt, signed with each of `secrets` (in clear)."""
    moment = datetime.fromtimestamp(int(now.timestamp()), UTC)
    signatures = " ".join(Webhook(secret).sign(claimed.event_id, moment, body) for secret in secrets)
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": claimed.event_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signatures,
    }


class Deliverer:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        box: SecretBox,
        owner: str,
        policy: DeliveryPolicy | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.box = box
        self.owner = owner
        self.policy = policy or DeliveryPolicy()
        self.metrics = metrics
        self._held: dict[str, queue.Claimed] = {}  # claimed, outcome not yet recorded
        # Outcomes recorded at a time: each is a short transaction; fifty at once would each want a
        # connection of the process's pool (the sync workers' too) to say something quick.
        self._recording = asyncio.Semaphore(RECORDING)
        tls = httpx.create_ssl_context()
        self._http = httpx.AsyncClient(
            timeout=self.policy.timeout_seconds,
            follow_redirects=False,  # a redirect is an answer like another: retried, never followed
            verify=tls,
            # Where the URL leads is checked on every connection, as for GESDENT (app/sync/network.py).
            transport=None if self.policy.allow_private_networks else PublicOnlyTransport(tls),
        )

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set: then claim nothing more; the deliveries under way finish (the
        sync service gives them a grace period, then cancels them: they go back to the queue).

        Up to `batch` deliveries are in flight at a time, and free places are filled as soon as a
        fifth of them are free (or the poll period passed with fewer): an endpoint that takes its
        whole timeout to answer holds one place, not the deliveries claimed after it, and a busy
        queue is not asked once per delivery. A claim that found fewer than it asked for means the
        queue is empty for now: the next waits for the poll period."""
        in_flight: set[asyncio.Task[None]] = set()
        try:
            async with asyncio.TaskGroup() as group:
                while not stop.is_set():
                    free = self.policy.batch - len(in_flight)
                    more = not free  # every place taken: the queue may hold more
                    if free:
                        try:
                            claimed = await self._claim(free)
                        except Exception:  # the database may be briefly unreachable: try again later
                            log.exception("event delivery: claiming failed")
                            claimed = []
                        for one in claimed:
                            task = group.create_task(self._deliver(one))
                            in_flight.add(task)
                            task.add_done_callback(in_flight.discard)
                        more = len(claimed) == free
                    await self._pause(in_flight, stop, until_places=more)
        finally:
            await self._http.aclose()

    async def _pause(
        self, in_flight: set[asyncio.Task[None]], stop: asyncio.Event, *, until_places: bool
    ) -> None:
        """Until the poll period passes or `stop` is set; sooner when the queue may hold more
        (`until_places`) and a fifth of the places are free."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.policy.poll_seconds
        refill = max(self.policy.batch // 5, 1)
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                if until_places and self.policy.batch - len(in_flight) >= refill:
                    return
                left = deadline - loop.time()
                if left <= 0:
                    return
                waited: set[asyncio.Future[Any]] = {stopping, *in_flight} if until_places else {stopping}
                await asyncio.wait(waited, timeout=left, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()

    async def _claim(self, limit: int) -> list[queue.Claimed]:
        lease = timedelta(seconds=self.policy.lease_seconds)
        with suppress_instrumentation():  # polling: no trace of one statement every second
            claimed = await queue.claim(self.sessionmaker, self.owner, lease, limit)
        self._held.update((one.delivery_id, one) for one in claimed)
        return claimed

    async def deliver_once(self) -> int:
        """Claim a batch of due deliveries and send them side by side, until all have ended; how many
        were claimed (the tests' way to drive the loop one step at a time)."""
        claimed = await self._claim(self.policy.batch)
        if claimed:
            async with asyncio.TaskGroup() as group:
                for one in claimed:
                    group.create_task(self._deliver(one))
        return len(claimed)

    async def hand_back(self) -> bool:
        """After the loop was cancelled mid-batch (a stop whose grace ran out): give the deliveries it
        held back to the queue, for another worker at once. True when there were some."""
        held, self._held = list(self._held.values()), {}
        if not held:
            return False
        given = await queue.hand_back(self.sessionmaker, self.owner, held)
        log.info("event delivery: %s delivery(ies) handed back on stopping", given)
        return True

    async def _deliver(self, claimed: queue.Claimed) -> None:
        answer = await self._send(claimed)
        self._held.pop(claimed.delivery_id, None)  # from here on, the outcome's record decides
        outcome = verdict(answer.status_code)  # no answer (None): retried
        try:
            async with self._recording:
                result = await queue.record(
                    self.sessionmaker, claimed, self.owner, outcome, answer, schedule=self.policy.schedule
                )
        except Exception:  # its lease runs out, and another attempt follows
            log.exception("event delivery %s: recording the outcome failed", claimed.delivery_id)
            return
        if self.metrics is not None:
            self.metrics.webhook_deliveries.labels(result).inc()
        level = logging.INFO if result == "delivered" else logging.WARNING
        log.log(
            level,
            "event delivery %s (%s, attempt %s): %s",
            claimed.delivery_id,
            claimed.event_type,
            claimed.attempt,
            result,
            extra={
                "event_id": claimed.event_id,
                "endpoint_id": claimed.endpoint_id,
                "status": answer.status_code,
            },
        )

    async def _send(self, claimed: queue.Claimed) -> queue.Answer:
        try:
            secrets = [self.box.decrypt(secret) for secret in claimed.secrets]
        except ValueError as exc:  # PORTICO_SECRET_KEYS lacks the key the secret was encrypted with
            return queue.Answer(None, str(exc))
        body = body_of(claimed)
        headers = signed_headers(claimed, secrets, body, datetime.now(UTC))
        try:
            async with asyncio.timeout(self.policy.timeout_seconds):
                async with self._http.stream(
                    "POST", claimed.url, content=body.encode(), headers=headers
                ) as response:
                    retry_after = parse_retry_after(response.headers.get("retry-after"))
                    code = response.status_code
        except (TimeoutError, httpx.TimeoutException):
            return queue.Answer(None, f"no answer within {self.policy.timeout_seconds:g} s")
        except Exception as exc:  # connection refused or reset, an address refused (SSRF), a bad answer
            return queue.Answer(None, f"{type(exc).__name__}: {str(exc)[:200]}".rstrip(": "))
        error = None if 200 <= code < 300 else f"answered {code}"  # noqa: PLR2004
        return queue.Answer(code, error, retry_after)
