"""`portico plan FILE` and `portico apply FILE`: a manifest (YAML or JSON) against a running Portico,
with a readable diff and exit codes like `terraform plan -detailed-exitcode`: 0 no change, 2 changes
planned (or applied), 1 an error. The key comes from PORTICO_API_KEY, never from the command line."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
import yaml
from rich.console import Console

NO_CHANGE, ERROR, CHANGES = 0, 1, 2
KEY_VARIABLE = "PORTICO_API_KEY"
SYMBOLS = {"create": ("+", "green"), "update": ("~", "yellow"), "delete": ("-", "red")}

Url = Annotated[str, typer.Option("--url", help="Portico's address.", envvar="PORTICO_URL")]
File = Annotated[Path, typer.Argument(help="The manifest, YAML or JSON.", exists=True, dir_okay=False)]


class Failed(Exception):
    """Something went wrong that the user should read; the command exits 1."""


def read_manifest(path: Path) -> dict[str, Any]:
    """The document in `path`: YAML (of which JSON is a subset), read safely (no tags, no objects)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise Failed(f"{path} is not YAML or JSON: {exc}") from None
    if not isinstance(document, dict):
        raise Failed(f"{path} does not hold a manifest (a mapping with `portal`)")
    return document


def _client(url: str) -> httpx.Client:
    key = os.environ.get(KEY_VARIABLE)
    if not key:
        raise Failed(f"set {KEY_VARIABLE} to an API key of yours")
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=300)


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    try:
        response = client.post(path, json=body)
    except httpx.HTTPError as exc:
        raise Failed(f"cannot reach Portico at {client.base_url}: {exc}") from None
    answer: dict[str, Any] = response.json() if response.content else {}
    if response.status_code != httpx.codes.OK:
        raise Failed(_problem(answer, response.status_code))
    return answer


def _problem(problem: dict[str, Any], status: int) -> str:
    lines = [f"{status} {problem.get('title', '')}: {problem.get('detail', '')}"]
    lines += [f"  {e.get('field')}: {e.get('message')}" for e in problem.get("errors", [])]
    lines += [f"  {p['target']}: {p['detail']} ({p['type']})" for p in problem.get("problems", [])]
    return "\n".join(lines)


def _value(value: object) -> str:
    return "(none)" if value is None else json.dumps(value, ensure_ascii=False)


def show(console: Console, plan: dict[str, Any]) -> None:
    """The diff: one line per change (+ create, ~ update, - delete), its fields under it."""
    for change in plan["changes"]:
        symbol, colour = SYMBOLS[change["action"]]
        console.print(f"[{colour}]{symbol} {change['kind']} {change['target']}[/]", highlight=False)
        for field in change["fields"]:
            before, after = _value(field["before"]), _value(field["after"])
            shown = after if change["action"] == "create" else f"{before} -> {after}"
            console.print(f"    {field['field']}: {shown}", highlight=False, markup=False)
    for warning in plan.get("warnings", []):
        console.print(f"[magenta]! {warning['message']}[/]", highlight=False)
    for problem in plan.get("problems", []):
        console.print(
            f"[bold red]x {problem['target']}: {problem['detail']} ({problem['type']})[/]", highlight=False
        )
    s = plan["summary"]
    console.print(
        f"Plan: {s['create']} to create, {s['update']} to update, {s['delete']} to delete.", highlight=False
    )


def _plan(console: Console, file: Path, url: str) -> tuple[httpx.Client, dict[str, Any], dict[str, Any]]:
    document = read_manifest(file)
    client = _client(url)
    plan = _post(client, "/v1/portal-manifests/plan", document)
    show(console, plan)
    return client, document, plan


def plan_command(file: File, url: Url = "http://127.0.0.1:8000") -> None:
    """Show what applying the manifest would change. Exit 0: no change; 2: changes; 1: error."""
    console = Console()
    try:
        plan = _plan(console, file, url)[2]
    except Failed as exc:
        Console(stderr=True).print(str(exc), markup=False, highlight=False)
        raise typer.Exit(ERROR) from None
    if plan["problems"]:
        raise typer.Exit(ERROR)
    raise typer.Exit(CHANGES if plan["changes"] else NO_CHANGE)


def apply_command(file: File, url: Url = "http://127.0.0.1:8000") -> None:
    """Plan the manifest, show the plan, then apply it with the plan's fingerprint (a 412 if anything
    changed in between). Exit 0: nothing to do; 2: changes applied; 1: error."""
    console = Console()
    try:
        client, document, plan = _plan(console, file, url)
        if plan["problems"]:
            raise typer.Exit(ERROR)
        if not plan["changes"]:
            console.print("No changes.")
            raise typer.Exit(NO_CHANGE)
        applied = _post(
            client, "/v1/portal-manifests/apply", {"manifest": document, "fingerprint": plan["fingerprint"]}
        )
    except Failed as exc:
        Console(stderr=True).print(str(exc), markup=False, highlight=False)
        raise typer.Exit(ERROR) from None
    s = applied["summary"]
    console.print(
        f"Applied: {s['create']} created, {s['update']} updated, {s['delete']} deleted.", highlight=False
    )
    raise typer.Exit(CHANGES)


def register(cli: typer.Typer) -> None:
    cli.command("plan")(plan_command)
    cli.command("apply")(apply_command)
