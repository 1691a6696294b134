"""Limits on a request's head (its request line and headers), enforced while it arrives.

uvicorn's httptools protocol reads a request line or a header for as long as the client sends it:
a 100 MB header was read for 8 s and held in memory, and eight at once took a server to 796 MB.
`LimitedHttpToolsProtocol` counts the bytes of the head as they come in and the headers as they are
parsed. Past a limit it answers 431 Request Header Fields Too Large (a problem) and closes the
connection, without reading further.

The bytes are counted on the wire, because httptools gathers a header's value inside the parser and
reports it only once it is complete. While a head is arriving the parser is fed at most what the
limit leaves room for, so a head is refused as soon as it is longer, whether it comes in one piece or
one byte at a time. A request pipelined behind another in the same read is counted by the parser's
callbacks instead (its request line and complete headers); what the parser holds of it meanwhile is
part of one read of the socket (a buffer of bounded size), so memory stays bounded either way.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from app.config import DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_HEADERS
from app.domain.errors import RequestHeaderFieldsTooLarge
from app.request_log import accepted_id


@dataclass(frozen=True)
class HeadLimits:
    max_bytes: int = DEFAULT_MAX_HEADER_BYTES  # the request line and every header, line ends included
    max_headers: int = DEFAULT_MAX_HEADERS


class ServerConfig(uvicorn.Config):
    """uvicorn's Config, serving with `LimitedHttpToolsProtocol` under `head_limits`."""

    def __init__(self, *args: Any, head_limits: HeadLimits, **kwargs: Any) -> None:
        kwargs["http"] = LimitedHttpToolsProtocol
        super().__init__(*args, **kwargs)
        self.head_limits = head_limits


class _Refused(Exception):
    """Raised in a parser callback to stop parsing a head that broke a limit."""


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        limits = config.head_limits if isinstance(config, ServerConfig) else HeadLimits()
        self.max_bytes, self.max_headers = limits.max_bytes, limits.max_headers
        self.in_head = True  # from the end of a message (or the connection's start) to its headers' end
        self.head_bytes = 0  # bytes fed to the parser during this head
        self.parsed_bytes = 0  # of the request line and the complete headers, as the parser reports them
        self.header_count = 0
        self.refusal: str | None = None

    def data_received(self, data: bytes) -> None:
        if self.in_head:
            if len(data) > self.max_bytes - self.head_bytes:
                self._receive_in_pieces(data)
                return
            self.head_bytes += len(data)
        self._feed(data)

    def _receive_in_pieces(self, data: bytes) -> None:
        """Feed no more of a head than the limit leaves room for; past it, refuse."""
        while data and self.refusal is None and not self.transport.is_closing():
            if self.in_head:
                room = self.max_bytes - self.head_bytes
                if room <= 0:
                    self._refuse(f"The request line and headers exceed {self.max_bytes} bytes.")
                    return
                chunk, data = data[:room], data[room:]
                self.head_bytes += len(chunk)
            else:
                chunk, data = data, b""
            if not self._feed(chunk):
                return

    def _feed(self, data: bytes) -> bool:
        """Parse `data`; False when what follows is not for this parser (refused, or upgraded)."""
        # HttpToolsProtocol.data_received (uvicorn 0.54), telling our refusal from a malformed request.
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.refusal is not None:
                self._refuse(self.refusal)
                return False
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return False
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return False
        return True

    # Parser callbacks. Raising in one stops the parser: feed_data raises HttpParserCallbackError.
    # on_url and on_header do what HttpToolsProtocol's do (uvicorn 0.54) rather than call them: they
    # run for every header of every request, and a call more each costs more than the counting.

    def on_url(self, url: bytes) -> None:
        self.parsed_bytes += len(url)
        if self.parsed_bytes > self.max_bytes:
            self._stop()
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_count += 1
        self.parsed_bytes += len(name) + len(value) + 4  # ": " and CRLF
        if self.header_count > self.max_headers or self.parsed_bytes > self.max_bytes:
            self._stop()
        name = name.lower()
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        self.headers.append((name, value))

    def _stop(self) -> None:
        if self.header_count > self.max_headers:
            self.refusal = f"The request has more than {self.max_headers} headers."
        else:
            self.refusal = f"The request line and headers exceed {self.max_bytes} bytes."
        raise _Refused

    def on_headers_complete(self) -> None:
        self.in_head = False
        self.head_bytes = self.parsed_bytes = self.header_count = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self.in_head = True
        super().on_message_complete()

    def _refuse(self, detail: str) -> None:
        """Answer 431 and close: nothing more is read from this connection."""
        self.refusal = detail
        problem = RequestHeaderFieldsTooLarge
        # Answered before the app sees the request: the request id is chosen here, as RequestLog would.
        given = next((value for name, value in self.headers if name == b"x-request-id"), None)
        request_id = accepted_id(given.decode("latin-1") if given is not None else None)
        body = json.dumps(
            {
                "type": f"/problems/{problem.slug}",
                "title": problem.title,
                "status": problem.status,
                "detail": detail,
                "request_id": request_id,
            }
        ).encode()
        head = [STATUS_LINE[problem.status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: application/problem+json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"x-request-id: %s\r\n" % request_id.encode(),
            b"connection: close\r\n\r\n",
        ]
        peer = f"{self.client[0]}:{self.client[1]} - " if self.client else ""  # as uvicorn's log lines
        self.logger.warning(
            "%sRefused a request with 431: %s", peer, detail, extra={"request_id": request_id, "status": 431}
        )
        self.transport.write(b"".join(head) + body)
        self.transport.close()
