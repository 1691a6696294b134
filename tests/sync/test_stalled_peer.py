"""A GESDENT server that answers one page and then stalls holds nothing but its own run: on SQLite,
whose one writer serves the whole database, the stream is read before the write lock is taken, so
every other write of the process goes on (issue 9, finding 2)."""

from __future__ import annotations

import asyncio
import json
import time

import httpx

from app.domain.gesdent import FAMILIES, ConnectionRules
from app.sync.importer import run_import
from app.sync.retries import RetryPolicy
from tests.conftest import create_instance as create_instance_via_api
from tests.sync.hostile_peer import HostilePeer, _head
from tests.sync.importing import create_instance, delete_instance


def _first_page_then_stall(peer: HostilePeer, writer: asyncio.StreamWriter) -> asyncio.Future[None]:
    async def behaviour() -> None:
        if peer.requests == 1:
            patient = {
                "id": "P-1",
                "first_name": "Ana",
                "last_name": "Ruiz",
                "updated_at": "2026-11-20T08:00:00Z",
                "deleted": False,
            }
            body = json.dumps({"items": [patient], "next_cursor": "page-2"}).encode()
            await peer.send(writer, _head("200 OK", {"Content-Length": str(len(body))}), body=False)
            await peer.send(writer, body)
        else:
            await asyncio.sleep(3600)  # the next page never comes

    return asyncio.ensure_future(behaviour())


async def test_a_stalled_stream_does_not_hold_the_database(app, api):
    instance_id = await create_instance(app)
    rules = ConnectionRules(
        base_url="",
        resource_ids=["RES-1"],
        credentials=dict.fromkeys(FAMILIES, ("u", "p")),
    )
    with HostilePeer(_first_page_then_stall) as peer:
        rules = ConnectionRules(**{**rules.__dict__, "base_url": peer.url})
        importing = asyncio.create_task(
            run_import(
                app.state.sessionmaker,
                instance_id,
                rules,
                streams=["users"],
                client_options={
                    "retry": RetryPolicy(max_attempts=1),
                    "timeout": httpx.Timeout(60.0),
                    "allow_private_networks": True,
                },
            )
        )
        try:
            deadline = time.monotonic() + 10
            # The peer runs in its own thread: its request count is polled. Page 1 is in; page 2 hangs.
            while peer.requests < 2 and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            assert peer.requests == 2
            assert not importing.done()
            started = time.monotonic()
            async with asyncio.timeout(5):  # SQLite's busy timeout is 15 s: a held lock fails this
                await create_instance_via_api(api, "tt_written_meanwhile")
            assert time.monotonic() - started < 5
        finally:
            importing.cancel()
            await asyncio.wait([importing])
    await delete_instance(app, instance_id)
