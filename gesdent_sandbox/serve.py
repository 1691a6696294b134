"""Serve a sandbox from the command line (`gesdent-sandbox`, see cli.py)."""

from __future__ import annotations

import time
from collections.abc import Callable

import uvicorn

from gesdent_sandbox.app import Sandbox, create_sandbox_app
from gesdent_sandbox.config import SandboxConfig


def banner(sandbox: Sandbox, root: str, seconds: float) -> str:
    base_url = root + sandbox.config.path_prefix.lstrip("/")
    dataset, config = sandbox.dataset, sandbox.config
    lines = [
        f"GESDENT sandbox: seed {config.seed}, today {dataset.today}, {config.algorithm} Digest",
        f"  generated in {seconds:.1f}s: {len(dataset.tables.user_by_id)} patients, "
        f"{len(dataset.tables.reservation_by_id)} reservations",
        f"  base_url      {base_url}",
        *(f"  resource      {resource_id}" for resource_id in dataset.resource_ids),
        *(f"  {family:<13} {credential}" for family, credential in sandbox.credentials.items()),
        f"  control API   {root}_sandbox/ (info, faults, mutate, stats, reset)",
    ]
    return "\n".join(lines)


def serve(config: SandboxConfig, host: str, port: int, echo: Callable[[str], None] = print) -> None:
    started = time.perf_counter()
    app = create_sandbox_app(config)
    echo(banner(app.state.sandbox, f"http://{host}:{port}/", time.perf_counter() - started))
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False, lifespan="off")
