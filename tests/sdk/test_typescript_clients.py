"""TypeScript clients of the committed spec: types from openapi-typescript and a client from
@hey-api/openapi-ts, generated into a temporary folder beside a copy of clients/usage.ts (a client's
code that reads the report and a page of instances with both), which `tsc --strict --noEmit` must
compile. The tools are clients/package-lock.json's, installed by `make test` (npm ci)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.sdk.conftest import CLIENTS, SPEC, NodeTools, Ran

USAGE = CLIENTS / "usage.ts"
# The browser's and Node.js 20's fetch, URL and URLSearchParams; modules resolved as bundlers do, as
# the hey-api client's extension-less imports need.
TSC_OPTIONS = [
    "--strict",
    "--noEmit",
    *("--target", "es2022"),
    *("--module", "esnext"),
    *("--moduleResolution", "bundler"),
    *("--lib", "es2022,dom,dom.iterable"),
]


def _generate(node_tools: NodeTools, spec: Path, folder: Path) -> None:
    """Both generators' output for `spec` in `folder`/generated, with usage.ts beside it."""
    out = folder / "generated"
    shutil.copy(USAGE, folder / USAGE.name)
    for ran in (
        node_tools.run(
            "openapi-typescript",
            str(spec),
            f"--output={out / 'openapi-typescript' / 'schema.ts'}",
            cwd=folder,
        ),
        node_tools.run("openapi-ts", f"--input={spec}", f"--output={out / 'hey-api'}", cwd=folder),
    ):
        assert ran.returncode == 0, ran.explain()


def _compile(node_tools: NodeTools, folder: Path) -> Ran:
    return node_tools.run("tsc", *TSC_OPTIONS, USAGE.name, cwd=folder)


@pytest.fixture(scope="module")
def generated(node_tools: NodeTools, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("typescript")
    _generate(node_tools, SPEC, folder)
    return folder


def test_the_usage_compiles_against_both_generated_clients(node_tools: NodeTools, generated: Path) -> None:
    ran = _compile(node_tools, generated)
    assert ran.returncode == 0, f"tsc --strict rejects clients/usage.ts:\n{ran.explain()}"


def test_a_wrong_usage_does_not_compile(node_tools: NodeTools, generated: Path) -> None:
    """The check can fail: a report member read with a field the spec does not have, and a page
    whose `next_cursor` is taken for a string without the null check, are each a tsc error."""
    usage = (generated / USAGE.name).read_text(encoding="utf-8")
    wrong = {
        "member.unmapped.length === 0": "member.unmaped.length === 0",
        "cursor = data.next_cursor ?? undefined;": "cursor = data.next_cursor;",
        "next: page.next_cursor }": "next: page.next_cursor.trim() }",
    }
    for right, broken in wrong.items():
        assert usage.count(right) == 1, f"usage.ts no longer has {right!r}"
        usage = usage.replace(right, broken)
    (generated / "wrong.ts").write_text(usage, encoding="utf-8")
    ran = node_tools.run("tsc", *TSC_OPTIONS, "wrong.ts", cwd=generated)
    assert ran.returncode != 0, ran.explain()
    errors = re.findall(r"^wrong\.ts\(\d+,\d+\): error (TS\d+)", ran.output, re.MULTILINE)
    assert sorted(errors) == ["TS18047", "TS2322", "TS2551"], ran.explain()
