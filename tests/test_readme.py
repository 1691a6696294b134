"""The README's two walk-throughs, run as a reader runs them, against real servers.

Every ```bash block of the sections `## Walk-through: …` runs, in order, in ONE bash process (so
variables and functions carry over from block to block), under `set -Eeuo pipefail`: the first
failing command stops it, and the test names the block. Two blocks are not pasted into the reader's
shell but run in other terminals: `… make run` and `…/gesdent-sandbox …`. The test starts
those itself, from the command lines parsed out of the README (so a drift fails here): the sandbox
with the README's options, and `portico serve` (what `make run` starts) with the settings the
README puts before `make run`, in a fresh working directory where it creates `portico.db` and
`portico.db.master.key`, as the reader's project directory has them.

Ports: both servers listen on free loopback ports. The blocks and the settings are rewritten from
the README's `127.0.0.1:8000` and `127.0.0.1:8900` to those ports before they run, and what they
print is rewritten back, so it reads as the README shows it. One setting is added:
PORTICO_SCHEDULER_TICK_SECONDS=3600, so that no scheduled run lands between two steps of this quick
run and turns a trigger's 202 into the 200 the README warns about (readers pasting by hand get the
scheduled runs the README describes).

Checked for each block, against the plain block that follows it in the README: the sequence of
`HTTP nnn` lines (the walk-through's `pt` prints one after every answer), the problem types, and a
few stable fragments (`"status":"succeeded"`, `"base_url_source":"deployment"`, …); then the
sandbox's banner lines for its resources and credentials. Ids, timestamps and the sandbox's
date-dependent data are not compared.

To refresh the README's outputs after a change: `.venv/bin/python -m tests.readme_walkthrough`
prints what every block prints today, with the README's ports.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.readme_walkthrough import README, Walkthroughs, parse, problems, run_blocks, servers

TOOLS = ("bash", "curl", "python3")  # what the walk-throughs need on the reader's machine


@pytest.fixture(scope="module")
def walkthroughs() -> Walkthroughs:
    return parse(README.read_text(encoding="utf-8"))


def _tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        reason = f"the README's walk-throughs need {', '.join(missing)}, which is not on the PATH"
        if IN_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)


def test_the_walkthroughs_are_found(walkthroughs: Walkthroughs) -> None:
    """Both sections, their server command lines, an output block after every shell block, and the
    procedure's own values pasted as the procedure writes them."""
    headings = {block.heading for block in walkthroughs.blocks}
    assert any(heading.startswith("1. The portal instance") for heading in headings), headings
    assert any(heading.startswith("2. Connection rules") for heading in headings), headings
    without_output = [block.line for block in walkthroughs.blocks if block.output is None]
    assert without_output == [], f"README.md lines {without_output}: a block without its output"
    assert "PORTICO_GESDENT_BASE_URL" in walkthroughs.portico_env, walkthroughs.portico_env
    assert {"--resource-id", "--credential"} <= set(walkthroughs.sandbox_args), walkthroughs.sandbox_args
    code = "\n".join(block.code for block in walkthroughs.blocks)
    for pasted in (
        '"name": "sanitas_gesdent_digest"',  # the clone's database name, without tt_
        '"digest: wOPnLZytlYwv1pZA6Wse"',  # the credential with its space
        '"resource_ids": "EJEJQKV5-ETREAXNR-IF4YDMXE-S4EEOH4W-3ES2"',  # one string
        "cron_importer_gesdent.php?dbName=tt_sanitas_gesdent_digest",
    ):
        assert pasted in code, f"the walk-throughs no longer paste {pasted}"


def test_the_walkthroughs_run_as_written(walkthroughs: Walkthroughs, tmp_path: Path) -> None:
    _tools()
    workdir = tmp_path / "project"
    workdir.mkdir()
    with servers(walkthroughs, workdir) as running:
        try:
            result = run_blocks(walkthroughs.blocks, running.ports, workdir)
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"the walk-throughs did not finish within {exc.timeout} s:\n{_tail(exc.stdout)}")
        sandbox_output = running.sandbox.output()
        log = running.portico.output()
    found = problems(walkthroughs, result, sandbox_output)
    assert not found, "\n\n".join(found) + f"\n\nportico serve said:\n{log[-3000:]}"


def _tail(text: str | bytes | None, size: int = 3000) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return (text or "")[-size:]
