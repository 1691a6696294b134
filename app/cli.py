"""The `portico` command: serve, show-master-key, migrate, openapi, worker, rotate-secrets, prune, and
plan and apply of portal manifests (app/manifest_cli.py).

The GESDENT sandbox has its own command, `gesdent-sandbox` (gesdent_sandbox/, not part of Portico)."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from pathlib import Path
from typing import Annotated

import typer

from app.serving import Address, listen, one_line_errors, serve_http, settle_heap, usable_database

log = logging.getLogger("portico")
cli = typer.Typer(help="Portico: portal and member instances, and their GESDENT sync.", no_args_is_help=True)


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default PORTICO_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default PORTICO_PORT).")] = None,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development).")] = False,
) -> None:
    """Start the HTTP service."""
    from app.config import load_settings
    from app.keys import resolve_master_key, resolve_secret_keys
    from app.logs import configure as configure_logs

    # In this order, so that a setting that cannot work stops the start before anything has begun:
    # no migration and no sync ticker while the port is taken, no ticker on an unusable database.
    with one_line_errors():
        settings = load_settings()
        configure_logs(settings.log_level, settings.log_format)
        where = Address(
            host or settings.host,
            settings.port if port is None else port,
            "--host" if host else "PORTICO_HOST",
            "--port" if port is not None else "PORTICO_PORT",
        )
        sock = listen(where)
        try:
            usable_database(settings)
            resolve_master_key(settings)
            resolve_secret_keys(settings)
        except BaseException:
            sock.close()
            raise
    serve_http(settings, sock, reload=reload)


@cli.command("show-master-key")
def show_master_key() -> None:
    """Print the master key: PORTICO_MASTER_KEY, or the one generated beside the SQLite file."""
    from app.config import load_settings
    from app.keys import stored_master_key

    with one_line_errors():
        key = stored_master_key(load_settings())
    typer.echo(key)


@cli.command()
def migrate(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Upgrade the database schema (what start-up does when PORTICO_AUTO_MIGRATE is true)."""
    from app.config import load_settings
    from app.db import migrate as migrations
    from app.db.engine import create_engine

    with one_line_errors():
        settings = load_settings()
        usable_database(settings)

    async def run() -> None:
        engine = create_engine(settings.database_url, null_pool=True)
        try:
            await migrations.upgrade(engine, revision)
        finally:
            await engine.dispose()

    asyncio.run(run())
    typer.echo(f"database at {revision}")


@cli.command()
def openapi(
    output: Annotated[Path, typer.Option(help="Where to write the spec.")] = Path("openapi/openapi.json"),
) -> None:
    """Write the OpenAPI spec (the committed openapi/openapi.json)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_openapi())
    typer.echo(f"wrote {output}")


@cli.command()
def worker(
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve GET /metrics on this port (default: no metrics port).")
    ] = None,
    metrics_host: Annotated[
        str, typer.Option(help="Interface of the metrics port (0.0.0.0 for a scraper in another host).")
    ] = "127.0.0.1",
) -> None:
    """Run only the sync ticker and workers (no HTTP API), e.g. as a separate deployment."""
    from app.config import load_settings
    from app.crypto import SecretBox
    from app.db.engine import create_engine, create_sessionmaker
    from app.keys import resolve_secret_keys
    from app.logs import configure as configure_logs
    from app.metrics import Metrics
    from app.metrics_server import MetricsServer
    from app.sync.scheduler import SyncService
    from app.tracing import instrument_engine, provider_from_env

    with one_line_errors():
        settings = load_settings()
        configure_logs(settings.log_level, settings.log_format)
        usable_database(settings)
        box = SecretBox(resolve_secret_keys(settings))

    async def run() -> None:
        engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
        provider = provider_from_env()
        instrument_engine(engine, provider)
        sessionmaker, metrics = create_sessionmaker(engine), Metrics()
        token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
        exporter = MetricsServer(metrics, engine, sessionmaker, token)
        service = SyncService.from_settings(
            settings, sessionmaker, box, metrics=metrics, tracer_provider=provider, min_workers=1
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        if metrics_port is not None:
            await exporter.start(metrics_host, metrics_port)
            log.info("metrics on http://%s:%s/metrics", metrics_host, metrics_port)
        service.start()
        log.info("sync worker %s started", service.workers[0].owner)
        try:
            await stop.wait()
        finally:
            await service.stop()  # within PORTICO_SHUTDOWN_GRACE_SECONDS, runs handed back after it
            await exporter.stop()  # after: the metrics stay readable while the runs end
            await engine.dispose()
            if provider is not None:
                provider.shutdown()  # exports the spans still in its batch

    settle_heap()
    asyncio.run(run())


@cli.command("rotate-secrets")
def rotate_secrets() -> None:
    """Re-encrypt every stored secret under the first key of PORTICO_SECRET_KEYS.

    Put the new key first, keep the old ones after it, run this, then drop the old keys."""
    from app.audit import recorder as audit
    from app.config import load_settings
    from app.crypto import SecretBox
    from app.db.engine import SQLITE_WRITE, create_engine, create_sessionmaker
    from app.db.repositories import gesdent, idempotency_keys, webhook_endpoints
    from app.keys import resolve_secret_keys
    from app.request_log import current_request_id
    from app.services.gesdent import rotate_all_rows
    from app.services.idempotency import rotate_all_rows as rotate_answers
    from app.services.webhook_endpoints import rotate_all_rows as rotate_endpoints

    with one_line_errors():
        settings = load_settings()
        usable_database(settings)
        box = SecretBox(resolve_secret_keys(settings))

    async def run() -> int:
        engine = create_engine(settings.database_url, null_pool=True)
        try:
            async with create_sessionmaker(engine)() as session:
                await session.connection(execution_options={SQLITE_WRITE: True})
                audit.begin(
                    session,
                    operation="cli.rotate-secrets",
                    request_id=current_request_id(),
                    actor=audit.OPERATOR_CLI,
                )
                count = rotate_all_rows(await gesdent.all_locked(session), box)
                count += rotate_endpoints(await webhook_endpoints.all_locked(session), box)
                for owner, key, body in rotate_answers(await idempotency_keys.all_done_locked(session), box):
                    await idempotency_keys.set_body(session, owner, key, body)  # answers kept for replay
                await session.commit()
                return count
        finally:
            await engine.dispose()

    typer.echo(f"re-encrypted {asyncio.run(run())} secret(s) under the first key")


@cli.command()
def prune() -> None:
    """Delete old sync runs and webhook replay records now, as the sync ticker does every hour.

    What is kept: PORTICO_SYNC_RUN_RETENTION_DAYS, PORTICO_SYNC_RUNS_KEPT_PER_INSTANCE,
    PORTICO_WEBHOOK_DELIVERY_RETENTION_MINUTES, PORTICO_AUDIT_RETENTION_DAYS;
    PORTICO_PRUNE_BATCH_SIZE rows per transaction."""
    from app.config import load_settings
    from app.db.engine import create_engine, create_sessionmaker
    from app.sync import retention

    with one_line_errors():
        settings = load_settings()
        usable_database(settings)

    async def run() -> retention.Pruned:
        engine = create_engine(settings.database_url, null_pool=True)
        try:
            policy = retention.RetentionPolicy.from_settings(settings)
            return await retention.prune(create_sessionmaker(engine), policy)
        finally:
            await engine.dispose()

    pruned = asyncio.run(run())
    typer.echo(
        f"pruned {pruned.runs} sync run(s) with {pruned.rejections} rejection(s), "
        f"{pruned.deliveries} webhook delivery record(s), {pruned.events} event(s) with "
        f"{pruned.event_deliveries} outbound delivery(ies), {pruned.audit_events} audit event(s), "
        f"in {pruned.batches} batch(es)"
    )


def render_openapi() -> str:
    from app.main import create_app

    return json.dumps(create_app().openapi(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    from app.manifest_cli import register

    register(cli)
    cli()
