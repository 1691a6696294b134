"""Starting the HTTP service: the listening socket bound before anything else starts, the database
checked, and a configuration that cannot work reported in one line (status 2) rather than a
traceback. `portico serve` uses all of it; the other commands use the one-line errors and the
database check."""

from __future__ import annotations

import asyncio
import errno
import gc
import logging
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any

import typer

from app.config import ConfigError, Settings

if TYPE_CHECKING:
    from app.http_limits import ServerConfig


@contextmanager
def one_line_errors() -> Iterator[None]:
    """A configuration that cannot work is one line on stderr and status 2. Anything else keeps its
    traceback: an unexpected error is a bug to see, not a message to tidy."""
    try:
        yield
    except ConfigError as exc:
        typer.echo(f"portico: {' '.join(str(exc).split())}", err=True)
        raise typer.Exit(2) from None


def usable_database(settings: Settings) -> None:
    """Create the SQLite folder and connect once; ConfigError when the database cannot work."""
    from app.db.engine import check_database

    settings.ensure_database_dir()
    asyncio.run(check_database(settings.database_url))


@dataclass(frozen=True)
class Address:
    """Where `portico serve` listens, and the settings that chose it (named in errors)."""

    host: str
    port: int
    host_setting: str
    port_setting: str

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def listen(where: Address) -> socket.socket:
    """The listening socket, bound by us before anything starts, then handed to uvicorn."""
    sock = socket.socket(socket.AF_INET6 if ":" in where.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: restart over TIME_WAIT
    try:
        sock.bind((where.host, where.port))
        sock.listen(2048)
    except (OSError, OverflowError) as exc:
        sock.close()
        problem = _bind_problem(where, exc)
        if problem is None:
            raise
        raise ConfigError(problem) from exc
    sock.set_inheritable(True)  # --reload hands it to the process it spawns
    return sock


def _bind_problem(where: Address, exc: OSError | OverflowError) -> str | None:
    host, port = where.host_setting, where.port_setting
    example = "e.g. 127.0.0.1 or 0.0.0.0"
    if isinstance(exc, OverflowError):
        return f"{port}: {where.port} is not a port number; use one from 1 to 65535"
    if isinstance(exc, socket.gaierror):
        return f'{host}: cannot resolve "{where.host}" ({exc.strerror}); use an address, {example}'
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"{host}: {where.host} is not an address of this machine; use one of its own, {example}"
    if exc.errno == errno.EADDRINUSE:
        return f"{port}: {where} is already in use by another process; stop it or choose another port"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return (
            f"{port}: no permission to listen on {where} (ports below 1024 need privileges); "
            "choose another port"
        )
    return None


def server_config(
    settings: Settings, app: Any, host: str, port: int, *, reload: bool = False
) -> ServerConfig:
    """uvicorn's configuration for `app` (an app, or the import string of a factory when reloading):
    the limits of a request's head, and the proxies whose forwarded headers count."""
    from app.http_limits import HeadLimits, ServerConfig

    proxies = settings.trusted_proxy_list
    return ServerConfig(
        app,
        factory=isinstance(app, str),
        host=host,
        port=port,
        reload=reload,
        log_level=settings.log_level,
        # Portico configures logging itself (app/logs.py), and writes one line per request in place
        # of uvicorn's access log (app/request_log.py).
        log_config=None,
        access_log=False,
        # X-Forwarded-For and -Proto only from the proxies named; without any, from nobody (uvicorn
        # would trust 127.0.0.1 and ::1, i.e. any process on the machine, or in the container).
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        head_limits=HeadLimits(settings.max_header_bytes, settings.max_headers),
    )


def settle_heap() -> None:
    """Take what start-up built out of the garbage collector's rounds, once, before the first request
    or run. Start-up leaves some 200,000 objects that live as long as the process (modules, routes,
    schemas, table metadata); each full collection walked all of them, 0.2 s of one core on this
    machine, several times a minute under load. Frozen, a full collection walks only what came later."""
    gc.collect()
    gc.freeze()


def reloaded_app() -> Any:
    """The app of a process that `--reload` starts: its logging set up as its parent's was."""
    from app.logs import configure
    from app.main import create_app

    settings = Settings()
    configure(settings.log_level, settings.log_format)
    return create_app(settings)


def serve_http(settings: Settings, sock: socket.socket, *, reload: bool) -> None:
    """Run uvicorn on our socket; the app's lifespan migrates, then starts the sync ticker."""
    import uvicorn

    from app.main import create_app

    host, port = sock.getsockname()[:2]
    # A reloaded process builds the app itself, from the same environment.
    app = "app.serving:reloaded_app" if reload else create_app(settings)
    config = server_config(settings, app, host, port, reload=reload)

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            super().handle_exit(sig, frame)
            # The sync service stops claiming runs at once; uvicorn ends the lifespan, where the
            # service stops within its grace, only once every connection has closed.
            service = getattr(getattr(app, "state", None), "sync_service", None)
            if service is not None:
                service.stop_taking_work()

    server = Server(config)
    # uvicorn announces the address only when it binds the socket itself.
    shown = f"[{host}]" if sock.family == socket.AF_INET6 else host
    logging.getLogger("uvicorn.error").info(
        "Uvicorn running on http://%s:%d (Press CTRL+C to quit)", shown, port
    )
    if reload:
        from uvicorn.supervisors import ChangeReload

        ChangeReload(config, target=server.run, sockets=[sock]).run()
        return
    # Once it has shut down gracefully, uvicorn raises again the signal that stopped it, which would
    # end the process as killed by SIGTERM; a graceful stop is a success (status 0).
    signal.signal(signal.SIGTERM, lambda *_: None)
    settle_heap()
    with suppress(KeyboardInterrupt):  # Ctrl+C: uvicorn has shut down gracefully
        server.run(sockets=[sock])
    if not server.started:
        raise typer.Exit(3)  # uvicorn's start-up failure status; it has logged why
