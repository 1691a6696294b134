"""The `gesdent-sandbox` command: serve a GESDENT sandbox with seeded data, for trials and benchmarks."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError

from gesdent_sandbox.config import CREDENTIAL_FAMILIES, Credential, CredentialFamily, SandboxConfig
from gesdent_sandbox.serve import serve

cli = typer.Typer(add_completion=False)


@cli.command()
def gesdent_sandbox(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8900,
    seed: Annotated[int, typer.Option(help="Seed of the generated data and credentials.")] = 1,
    patients: Annotated[int, typer.Option(help="Number of patients (users).")] = 5000,
    reservations: Annotated[int, typer.Option(help="Number of reservations.")] = 20000,
    resources: Annotated[int, typer.Option(help="Number of resources.")] = 2,
    algorithm: Annotated[str, typer.Option(help="Digest algorithm: MD5 or SHA-256.")] = "MD5",
    path_prefix: Annotated[str, typer.Option(help="Path of the endpoints, e.g. /gesdent/api/.")] = "/",
    time_zone: Annotated[
        str | None, typer.Option(help="The clinic's IANA zone, e.g. Europe/Madrid (default: fixed +01:00).")
    ] = None,
    opening_hours: Annotated[str, typer.Option(help="Local opening hours, e.g. 9-14 or 0-24.")] = "9-14",
    open_days: Annotated[int, typer.Option(help="Days open a week, Monday first (7: every day).")] = 5,
    today: Annotated[
        str | None, typer.Option(help="The day the data is generated around, YYYY-MM-DD (default: today).")
    ] = None,
    resource_id: Annotated[
        list[str] | None,
        typer.Option(help="A resource ID to serve (repeat it for more), e.g. the procedure's own."),
    ] = None,
    credential: Annotated[
        list[str] | None,
        typer.Option(
            help="username:password for every family, or family=username:password for one "
            "(users, reservations, availability); e.g. digest:wOPnLZytlYwv1pZA6Wse."
        ),
    ] = None,
) -> None:
    """Serve a GESDENT sandbox (the GESDENT contract) with seeded data, for trials and benchmarks."""
    try:
        config = SandboxConfig(
            seed=seed,
            patients=patients,
            reservations=reservations,
            resources=max(resources, len(resource_id or ())),
            algorithm=algorithm.upper(),
            path_prefix=path_prefix,
            time_zone=time_zone,
            opening_hours=tuple(opening_hours.split("-", 1)),
            open_days=open_days,
            today=today,
            resource_id_overrides=tuple(resource_id or ()),
            credential_overrides=credentials(credential or []) or None,
        )
    except (ValidationError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    serve(config, host, port, echo=typer.echo)


def credentials(values: list[str]) -> dict[CredentialFamily, Credential]:
    """`user:password` (every family) or `family=user:password` (one), as `--credential` takes them."""
    chosen: dict[CredentialFamily, Credential] = {}
    for value in values:
        family, sep, pair = value.partition("=")
        if sep and family not in CREDENTIAL_FAMILIES:
            raise ValueError(f"--credential {value!r}: the family is one of {', '.join(CREDENTIAL_FAMILIES)}")
        families = [name for name in CREDENTIAL_FAMILIES if not sep or name == family]
        username, colon, password = (pair if sep else value).partition(":")
        if not colon or not username or not password:
            raise ValueError(f"--credential {value!r}: expected username:password")
        chosen.update(dict.fromkeys(families, Credential(username, password)))
    return chosen


def main() -> None:
    cli()
