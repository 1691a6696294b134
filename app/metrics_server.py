"""The worker's metrics port (`portico worker --metrics-port`): `GET /metrics` answered from the
process's `Metrics`, as the service's route answers it, by a small asyncio server in the worker's
own event loop. Not prometheus_client's `start_http_server`: that serves from a thread, and the
queue gauges are read with an async query on this loop's engine at every scrape.

It answers `GET /metrics` (200; 401 without PORTICO_METRICS_TOKEN when that is set), 404 for any
other path and 405 for any other method, then closes the connection."""

from __future__ import annotations

import asyncio
import hmac
import logging
from http import HTTPStatus

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.metrics import CONTENT_TYPE, Metrics

log = logging.getLogger("portico.metrics")
READ_SECONDS = 10.0  # a client that does not finish its request head in this time is dropped
MAX_HEAD = 16 * 1024


class MetricsServer:
    def __init__(
        self,
        metrics: Metrics,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        token: str | None = None,
    ) -> None:
        self.metrics = metrics
        self.engine = engine
        self.sessionmaker = sessionmaker
        self.token = token
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._serve, host, port, limit=MAX_HEAD)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(READ_SECONDS):
                head = await reader.readuntil(b"\r\n\r\n")
            status, body, extra = await self._answer(head.decode("latin-1"))
            lines = [
                f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
                f"Content-Type: {CONTENT_TYPE if status == HTTPStatus.OK else 'text/plain; charset=utf-8'}",
                f"Content-Length: {len(body)}",
                "Connection: close",
                *extra,
            ]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass  # a client that went away or sent no request head: nothing to answer
        except Exception:  # one failed scrape must not stop the server
            log.exception("metrics port: answering a scrape failed")
        finally:
            writer.close()

    async def _answer(self, head: str) -> tuple[int, bytes, list[str]]:
        request_line, *header_lines = head.split("\r\n")
        method, _, rest = request_line.partition(" ")
        path = rest.partition(" ")[0].partition("?")[0]
        if path != "/metrics":
            return 404, b"Not found: the metrics are at /metrics\n", []
        if method != "GET":
            return 405, b"Method not allowed\n", ["Allow: GET"]
        if self.token is not None and not self._authorized(header_lines):
            body = b"GET /metrics needs Authorization: Bearer <PORTICO_METRICS_TOKEN>\n"
            return 401, body, ['WWW-Authenticate: Bearer realm="portico"']
        return 200, await self.metrics.scrape(self.engine, self.sessionmaker), []

    def _authorized(self, header_lines: list[str]) -> bool:
        assert self.token is not None
        for line in header_lines:
            name, _, value = line.partition(":")
            if name.strip().lower() == "authorization":
                scheme, _, presented = value.strip().partition(" ")
                if scheme.lower() == "bearer":
                    return hmac.compare_digest(presented.strip().encode(), self.token.encode())
        return False
