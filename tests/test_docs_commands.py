"""Every command of the docs is run: the ```bash blocks of README.md and docs/*.md, as a reader runs
them, against real servers (tests/docs_commands.py says how).

- The README's five-minute tour runs against `portico serve` started as its `make run` says.
- The walk-throughs (docs/walkthroughs.md) run against Portico and a GESDENT sandbox started with the
  page's settings and options; then the operator's commands (docs/operations.md) run in the same
  project folder, Portico still running.
- Checked for each block, against the plain block that follows it: for the tour and the walk-throughs
  the sequence of `HTTP nnn` lines, the problem types and a few stable fragments (ids, timestamps
  and the sandbox's date-dependent data differ from run to run), and the sandbox's banner lines for
  its resources and credentials; for the operations page every line (`…` stands for any text).
- A ```bash block that no test runs fails here, unless its first line says why it is not run
  (`# not run by the tests: …`); so does a shell block fenced under another name (```sh, ```console).

A block that needs a tool this machine lacks (sqlite3) is skipped, and the test says so; with
`CI=true` that fails instead, as a missing bash, curl or python3 does.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.docs_commands import (
    OPERATIONS,
    OTHER_SHELL_LANGUAGES,
    PAGES,
    README,
    REQUIRED_TOOLS,
    WALKTHROUGHS,
    Ports,
    Result,
    Script,
    broken_links,
    doc_pages,
    fenced_blocks,
    line_matches,
    missing_tools,
    parse,
    problems,
    project,
    run_blocks,
    servers,
    skipped_reason,
)


@pytest.fixture(scope="module")
def tour() -> Script:
    return parse(README)


@pytest.fixture(scope="module")
def walkthroughs() -> Script:
    return parse(WALKTHROUGHS)


@pytest.fixture(scope="module")
def operations() -> Script:
    return parse(OPERATIONS)


def _tools() -> None:
    missing = missing_tools(REQUIRED_TOOLS)
    if missing:
        reason = f"the docs' commands need {', '.join(missing)}, which is not on the PATH"
        if IN_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)


def _skipped(results: list[Result]) -> None:
    """After every other check passed: a block skipped for want of a tool fails in CI, else skips."""
    reason = skipped_reason(results)
    if reason and IN_CI:
        pytest.fail(f"CI=true but {reason}")
    if reason:
        pytest.skip(reason)


def test_every_shell_block_is_run_or_marked() -> None:
    """No command of the docs can go unchecked: every ```bash block is on a page that a test runs
    (and the page's script holds it), or says why it is not run."""
    unchecked = []
    for page in doc_pages():
        run = set()
        if page in PAGES:
            script = parse(page)
            run = {block.line for block in [*script.blocks, *script.servers]}
        for block in fenced_blocks(page):
            if block.language in OTHER_SHELL_LANGUAGES:
                unchecked.append(f"{block.where}: a ```{block.language} block; write commands as ```bash")
            elif block.language != "bash":
                continue
            elif block.not_run == "":
                unchecked.append(f"{block.where}: `# not run by the tests:` without a reason")
            elif block.not_run is None and block.line not in run:
                unchecked.append(
                    f"{block.where}: no test runs the ```bash blocks of {page}; run them "
                    "(tests/docs_commands.py PAGES) or begin the block with `# not run by the tests: <why>`"
                )
    assert not unchecked, "\n".join(unchecked)


def test_links_lead_somewhere() -> None:
    """Every relative link of the docs reaches a file of the repository, and a heading of it when it
    names one (pages move, headings change)."""
    broken = [link for page in doc_pages() for link in broken_links(page)]
    assert not broken, "\n".join(broken)


def test_the_pages_hold_what_they_promise(tour: Script, walkthroughs: Script, operations: Script) -> None:
    """The tour, both walk-throughs with the procedure's own values pasted as the procedure writes
    them, the operator's commands; and an output block after every block that is run."""
    headings = {block.heading for block in walkthroughs.blocks}
    assert any(heading.startswith("1. The portal instance") for heading in headings), headings
    assert any(heading.startswith("2. Connection rules") for heading in headings), headings
    assert walkthroughs.portico_env is not None
    assert "PORTICO_GESDENT_BASE_URL" in walkthroughs.portico_env, walkthroughs.portico_env
    assert walkthroughs.sandbox_args is not None
    assert {"--resource-id", "--credential"} <= set(walkthroughs.sandbox_args), walkthroughs.sandbox_args
    code = "\n".join(block.code for block in walkthroughs.blocks)
    for pasted in (
        '"name": "sanitas_gesdent_digest"',  # the clone's database name, without tt_
        '"digest: wOPnLZytlYwv1pZA6Wse"',  # the credential with its space
        '"resource_ids": "EJEJQKV5-ETREAXNR-IF4YDMXE-S4EEOH4W-3ES2"',  # one string
        "cron_importer_gesdent.php?dbName=tt_sanitas_gesdent_digest",
    ):
        assert pasted in code, f"the walk-throughs no longer paste {pasted}"

    assert tour.portico_env == {}, "the tour runs against a plain `make run`"
    tour_code = "\n".join(block.code for block in tour.blocks)
    for step in ("/v1/partners", "/api-keys", "/v1/portals", "/members", "Accept: text/html"):
        assert step in tour_code, f"the tour no longer does {step}"

    ops_code = "\n".join(block.code for block in operations.blocks)
    for command in (
        ".venv/bin/portico migrate",
        ".venv/bin/portico show-master-key",
        'PORTICO_SECRET_KEYS="$NEW,$OLD" .venv/bin/portico rotate-secrets',
        'sqlite3 portico.db ".backup',
        ".venv/bin/portico prune",
    ):
        assert command in ops_code, f"docs/operations.md no longer runs {command}"

    without_output = [
        block.where for script in (tour, walkthroughs) for block in script.blocks if block.output is None
    ]
    assert without_output == [], f"blocks without the output they print: {without_output}"


def test_an_ellipsis_stands_for_any_text() -> None:
    assert line_matches(
        "re-encrypted 4 secret(s) under the first key", "re-encrypted 4 secret(s) under the first key"
    )
    assert not line_matches("re-encrypted 4 secret(s)", "re-encrypted 5 secret(s)")
    assert line_matches("ptc_master_…", "ptc_master_abc-DEF_123")
    assert line_matches("… at head", "database at head")
    assert not line_matches("ptc_master_…", "ptc_4d8c_…x")
    assert line_matches("(a.b)*", "(a.b)*"), "the rest of a line is plain text, not a pattern"


def test_the_tour_runs_as_written(tour: Script, tmp_path: Path) -> None:
    _tools()
    workdir = project(tmp_path)
    with servers(tour, workdir) as running:
        result = _run(tour, running.ports, workdir)
        log = running.portico.output()
    found = problems(tour, result)
    assert not found, "\n\n".join(found) + f"\n\nportico serve said:\n{log[-3000:]}"
    _skipped([result])


def test_the_walkthroughs_and_operations_run_as_written(
    walkthroughs: Script, operations: Script, tmp_path: Path
) -> None:
    _tools()
    workdir = project(tmp_path)
    with servers(walkthroughs, workdir) as running:
        walked = _run(walkthroughs, running.ports, workdir)
        assert running.sandbox is not None
        sandbox_output = running.sandbox.output()
        found = problems(walkthroughs, walked, sandbox_output)
        operated = _run(operations, running.ports, workdir) if not found else None
        log = running.portico.output()
    if operated is not None:
        found += problems(operations, operated)
    assert not found, "\n\n".join(found) + f"\n\nportico serve said:\n{log[-3000:]}"
    _skipped([walked, *([operated] if operated else [])])


def _run(script: Script, ports: Ports, workdir: Path) -> Result:
    try:
        return run_blocks(script, ports, workdir)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{script.page}: the blocks did not finish within {exc.timeout} s:\n{_tail(exc.stdout)}")


def _tail(text: str | bytes | None, size: int = 3000) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return (text or "")[-size:]
