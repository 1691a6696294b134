"""Schemathesis hooks for tests/test_fuzz.py (SCHEMATHESIS_HOOKS=tests.schemathesis_hooks).

A real client sends a new `Idempotency-Key` with every new request. Schemathesis draws the header
from its schema and its examples, so the same key would come back on other operations and bodies:
a 422 `idempotency-key-reused`, which is the right answer to such a client, not a finding. A key
that is valid as drawn is replaced by a fresh one (still valid); an invalid one is left as drawn, so
that the server's refusal of it is still checked."""

from __future__ import annotations

import uuid
from typing import Any

import schemathesis
from schemathesis.generation.meta import CoverageScenario

from app.domain.errors import ValidationFailed
from app.domain.idempotency import HEADER, check_key


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    headers = case.headers
    name = next((name for name in headers or {} if name.lower() == HEADER.lower()), None)
    if headers is None or name is None or _leaves_a_parameter_out(case):
        return
    try:
        check_key([headers[name]])
    except ValidationFailed:
        return
    headers[name] = str(uuid.uuid4())


def _leaves_a_parameter_out(case: Any) -> bool:
    """A coverage case that leaves out a required parameter on purpose (Authorization: its 401 is
    checked) is sent as drawn: an edit here makes Schemathesis revalidate the case, and send what it
    left out."""
    data = getattr(getattr(getattr(case, "meta", None), "phase", None), "data", None)
    return getattr(data, "scenario", None) == CoverageScenario.MISSING_PARAMETER
