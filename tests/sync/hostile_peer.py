"""A GESDENT server that misbehaves on purpose: raw HTTP/1.1 over asyncio, on a loopback port, in a
background thread, answering every request with one scripted behaviour (a huge body, a tarpit, a
throttle). It counts what it managed to send, so a test can tell how much the client read.

with HostilePeer(huge_body(300 * MiB, framing="chunked")) as peer:
    peer.url        # the base_url to give the client
    peer.requests   # requests received so far
    peer.sent       # body bytes the socket accepted
"""

from __future__ import annotations

import asyncio
import gzip
import threading
import zlib
from collections.abc import Awaitable, Callable
from typing import Literal

MiB = 1024 * 1024
CHUNK = b" " * (64 * 1024)  # JSON whitespace: a body that is valid up to where it is cut

Behaviour = Callable[["HostilePeer", asyncio.StreamWriter], Awaitable[None]]


class HostilePeer:
    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.requests = 0
        self.sent = 0
        self.url = ""
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Future[None] | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = self._loop.create_future()
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/api/"
        self._ready.set()
        async with server:
            await self._stop

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:  # keep-alive: the client may send its retries on the same connection
                await reader.readuntil(b"\r\n\r\n")  # a GET: no body
                self.requests += 1
                await self.behaviour(self, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client went away: what this peer is here to see
        finally:
            writer.close()

    async def send(self, writer: asyncio.StreamWriter, data: bytes, *, body: bool = True) -> None:
        writer.write(data)
        await writer.drain()
        if body:
            self.sent += len(data)

    def __enter__(self) -> HostilePeer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the hostile peer did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set_result, None)
        self._thread.join(10)


def _head(status: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"HTTP/1.1 {status}",
        "Content-Type: application/json",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


Framing = Literal["content-length", "close", "chunked"]


def huge_body(size: int, framing: Framing) -> Behaviour:
    """200 and a body of `size` bytes: announced by Content-Length, delimited by closing the
    connection (no length), or chunked."""

    async def behaviour(peer: HostilePeer, writer: asyncio.StreamWriter) -> None:
        headers = {
            "content-length": {"Content-Length": str(size)},
            "close": {"Connection": "close"},
            "chunked": {"Transfer-Encoding": "chunked"},
        }[framing]
        await peer.send(writer, _head("200 OK", headers), body=False)
        frame = f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n" if framing == "chunked" else CHUNK
        for _ in range(size // len(CHUNK)):
            await peer.send(writer, frame)
        if framing == "chunked":
            await peer.send(writer, b"0\r\n\r\n")
        if framing == "close":
            raise ConnectionError("the body ends where the connection does")

    return behaviour


def answer(content: bytes, framing: Literal["content-length", "chunked", "gzip", "deflate"]) -> Behaviour:
    """200 and this body: with its length, chunked (in 64 KiB chunks), or compressed."""

    async def behaviour(peer: HostilePeer, writer: asyncio.StreamWriter) -> None:
        if framing == "chunked":
            await peer.send(writer, _head("200 OK", {"Transfer-Encoding": "chunked"}), body=False)
            for start in range(0, len(content), len(CHUNK)):
                part = content[start : start + len(CHUNK)]
                await peer.send(writer, f"{len(part):x}\r\n".encode() + part + b"\r\n")
            await peer.send(writer, b"0\r\n\r\n")
            return
        body = gzip.compress(content) if framing == "gzip" else content
        body = zlib.compress(content) if framing == "deflate" else body
        headers = {"Content-Length": str(len(body))}
        if framing in ("gzip", "deflate"):
            headers["Content-Encoding"] = framing
        await peer.send(writer, _head("200 OK", headers), body=False)
        await peer.send(writer, body)

    return behaviour


def gzip_bomb(size: int) -> Behaviour:
    """200 and a gzip body of a few hundred KB that inflates to `size` bytes."""
    body = gzip.compress(b'{"items": [' + b" " * size + b'], "next_cursor": null}', compresslevel=9)

    async def behaviour(peer: HostilePeer, writer: asyncio.StreamWriter) -> None:
        headers = {"Content-Length": str(len(body)), "Content-Encoding": "gzip"}
        await peer.send(writer, _head("200 OK", headers), body=False)
        await peer.send(writer, body)

    return behaviour


def tarpit(interval: float, where: Literal["head", "body"]) -> Behaviour:
    """One byte every `interval` seconds: of the status line and headers, or of a 10 KB body."""

    async def behaviour(peer: HostilePeer, writer: asyncio.StreamWriter) -> None:
        head = _head("200 OK", {"Content-Length": "10000"})
        if where == "body":
            await peer.send(writer, head, body=False)
        for byte in head if where == "head" else b"{" + b" " * 9999:
            await peer.send(writer, bytes([byte]), body=where == "body")
            await asyncio.sleep(interval)

    return behaviour


def status(code: str, headers: dict[str, str]) -> Behaviour:
    """This status, these headers, an empty body: 429 with Retry-After, 503…"""

    async def behaviour(peer: HostilePeer, writer: asyncio.StreamWriter) -> None:
        await peer.send(writer, _head(code, {**headers, "Content-Length": "0"}), body=False)

    return behaviour
