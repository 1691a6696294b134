"""Redocly CLI lints the committed spec with the `recommended` rules, each raised to an error
(clients/redocly.yaml extends `recommended-strict`; a rule lowered there says why): no error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.sdk.conftest import CLIENTS, NodeTools, Ran, spec_with

CONFIG = CLIENTS / "redocly.yaml"


def _lint(node_tools: NodeTools, spec: Path | None = None) -> tuple[Ran, list[dict[str, Any]]]:
    """Lint `spec` (by default the API that the configuration names: openapi/openapi.json); the run
    and the problems it found."""
    args = ["lint", "--format=json", f"--config={CONFIG}", *([str(spec)] if spec else [])]
    ran = node_tools.run("redocly", *args, cwd=CLIENTS)
    try:
        report: dict[str, Any] = json.loads(ran.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"redocly printed no JSON report:\n{ran.explain()}") from None
    problems: list[dict[str, Any]] = report["problems"]
    return ran, problems


def _listed(problems: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{problem['severity']} {problem['ruleId']} at {problem['location'][0]['pointer']}: "
        f"{problem['message']}"
        for problem in problems
    )


def test_the_spec_has_no_lint_error(node_tools: NodeTools) -> None:
    ran, problems = _lint(node_tools)
    errors = [problem for problem in problems if problem["severity"] == "error"]
    assert not errors, f"Redocly finds errors in openapi/openapi.json:\n{_listed(errors)}"
    assert ran.returncode == 0, ran.explain()


def test_a_recommended_warning_is_an_error_here(node_tools: NodeTools, tmp_path: Path) -> None:
    """The check can fail: an example that does not fit its schema (a warning of `recommended`) fails
    the lint, so the configuration is in force and raises the rules to errors."""

    def wrong_example(spec: dict[str, Any]) -> None:
        spec["components"]["schemas"]["InstancePublic"]["properties"]["version"]["examples"] = ["one"]

    ran, problems = _lint(node_tools, spec_with(tmp_path, wrong_example))
    assert ran.returncode != 0, ran.explain()
    found = {(problem["ruleId"], problem["location"][0]["pointer"]): problem for problem in problems}
    wrong = found.get(
        ("no-invalid-schema-examples", "#/components/schemas/InstancePublic/properties/version/examples/0")
    )
    assert wrong is not None, _listed(problems)
    assert wrong["severity"] == "error"
