"""The `portico` command: serve, migrate, openapi."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

cli = typer.Typer(help="Portico: portal and member instances, and their GESDENT sync.", no_args_is_help=True)


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default PORTICO_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default PORTICO_PORT).")] = None,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development).")] = False,
) -> None:
    """Start the HTTP service."""
    import uvicorn

    from app.config import Settings

    settings = Settings()
    uvicorn.run(
        "app.main:app",
        host=host or settings.host,
        port=port or settings.port,
        reload=reload,
        log_level=settings.log_level,
        proxy_headers=True,
    )


@cli.command()
def migrate(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Upgrade the database schema (what start-up does when PORTICO_AUTO_MIGRATE is true)."""
    from app.config import Settings
    from app.db import migrate as migrations
    from app.db.engine import create_engine

    settings = Settings()
    settings.ensure_database_dir()

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


def render_openapi() -> str:
    from app.main import create_app

    return json.dumps(create_app().openapi(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    cli()
