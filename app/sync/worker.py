"""The worker: claims runs from the queue, imports under a renewed lease, records the outcome."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.crypto import SecretBox
from app.db.models import GesdentConnection, new_id
from app.sync import queue

# Imported up front: a first import inside a claimed run could outlast a short lease.
from app.sync.importer import ConnectionRules, run_import

log = logging.getLogger("portico.sync")
NO_ADDRESS = (
    "no GESDENT address: the connection rules have no base_url and this process has no "
    "PORTICO_GESDENT_BASE_URL; set one of them"
)


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{new_id()[-8:]}"


class Worker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        box: SecretBox,
        *,
        owner: str | None = None,
        lease: timedelta = timedelta(seconds=60),
        poll_seconds: float = 1.0,
        client_options: dict[str, Any] | None = None,
        importer: Callable[..., Any] | None = None,
        allow_private_networks: bool = False,
        default_base_url: str | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.box = box
        self.owner = owner or default_owner()
        self.lease = lease
        self.poll_seconds = poll_seconds
        self.client_options = client_options
        self._importer = importer
        self.allow_private_networks = allow_private_networks
        self.default_base_url = default_base_url  # PORTICO_GESDENT_BASE_URL

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set; an error in one run never stops the loop."""
        while not stop.is_set():
            try:
                worked = await self.run_once()
            except Exception:  # the database may be briefly unreachable; try again after a pause
                log.exception("sync worker: claiming a run failed")
                worked = False
            if not worked:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.poll_seconds)

    async def run_once(self) -> bool:
        """Claim and execute one run; False when the queue had nothing to do."""
        claim = await queue.claim(self.sessionmaker, self.owner, self.lease)
        if claim is None:
            return False
        await self._execute(claim)
        return True

    async def _execute(self, claim: queue.Claim) -> None:
        log.info(
            "sync run %s for instance %s: started (attempt %s)",
            claim.run_id,
            claim.instance_id,
            claim.attempts,
        )
        heartbeat = asyncio.create_task(self._heartbeat(claim.run_id, asyncio.current_task()))
        try:
            status, counts, error = await self._import(claim)
        except asyncio.CancelledError:
            if heartbeat.done() and heartbeat.result() is False:
                log.warning("sync run %s: lease lost; another worker takes it over", claim.run_id)
                return
            raise
        except Exception as exc:  # an importer bug must still end the run with a reason
            log.exception("sync run %s failed unexpectedly", claim.run_id)
            status, counts, error = "failed", {}, f"internal error: {type(exc).__name__}"
        finally:
            heartbeat.cancel()
        await queue.finish(self.sessionmaker, claim.run_id, self.owner, status, counts, error)
        log.info("sync run %s: %s", claim.run_id, status)

    async def _import(self, claim: queue.Claim) -> tuple[str, dict[str, Any], str | None]:
        async with self.sessionmaker() as session:
            row = await session.get(GesdentConnection, claim.instance_id)
        if row is None:
            return "failed", {}, "the instance has no GESDENT connection rules"
        base_url = row.base_url or self.default_base_url
        if not base_url:
            return "failed", {}, NO_ADDRESS
        try:
            credentials = {
                family: (
                    getattr(row, f"{family}_username"),
                    self.box.decrypt(getattr(row, f"{family}_password")),
                )
                for family in ("users", "reservations", "availability")
            }
        except ValueError as exc:  # PORTICO_SECRET_KEYS lacks the key these were encrypted with
            return "failed", {}, str(exc)
        rules = ConnectionRules(
            base_url=base_url,
            resource_ids=row.resource_ids.split(),
            credentials=credentials,
            window_days=row.window_days,
        )
        importer = self._importer or run_import
        result = await importer(
            self.sessionmaker,
            claim.instance_id,
            rules,
            full_refresh=claim.full_refresh,
            streams=claim.streams,
            # Where base_url leads is checked again on every connection the run opens: DNS may
            # point the host elsewhere since the rules were saved (app/sync/network.py).
            client_options={
                **(self.client_options or {}),
                "allow_private_networks": self.allow_private_networks,
            },
        )
        return result.status, result.as_counts(), result.error

    async def _heartbeat(self, run_id: str, task: asyncio.Task[Any] | None) -> bool:
        """Renew the lease every third of its length; if it is lost, cancel the import."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            if not await queue.renew(self.sessionmaker, run_id, self.owner, self.lease):
                if task is not None:
                    task.cancel()
                return False
