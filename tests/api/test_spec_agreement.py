"""The spec and the server agree on what a request may hold: a body the spec's schema allows is taken,
one it refuses is a 422. Each probe is a value on which they once disagreed (schemathesis found most);
the schema's verdict is jsonschema_rs's, the validator schemathesis uses, on the served spec.
"""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema_rs
import pytest
from fastapi import FastAPI

from tests.conftest import GESDENT_RULES, create_instance


@pytest.fixture(scope="module")
def spec(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def schema_allows(
    spec: dict[str, Any], method: str, template: str, body: object, media_type: str = "application/json"
) -> bool:
    """Whether the request body schema of `method template` allows `body`."""
    schema = spec["paths"][template][method.lower()]["requestBody"]["content"][media_type]["schema"]
    validator = jsonschema_rs.Draft202012Validator({**schema, "components": spec["components"]})
    return bool(validator.is_valid(body))


async def assert_agree(
    client: httpx.AsyncClient,
    spec: dict[str, Any],
    method: str,
    template: str,
    path: str,
    *,
    body: object,
    media_type: str = "application/json",
) -> httpx.Response:
    """The server takes `body` (2xx) exactly when the spec's schema allows it (otherwise 422)."""
    allowed = schema_allows(spec, method, template, body, media_type)
    response = await client.request(method, path, json=body, headers={"Content-Type": media_type})
    verdict = "allows" if allowed else "refuses"
    assert response.is_success == allowed, f"the schema {verdict} {body!r}; the server: {response.text}"
    if not allowed:
        assert response.status_code == 422, response.text
    return response


# --- Text: one line without control characters, or any text without NUL ----------------------------


@pytest.mark.parametrize(
    ("text", "allowed"),
    [
        ("Clínica Ñ", True),
        ("a\x85b", True),  # NEL, a C1 control: taken
        ("a\x1fb", False),
        ("a\tb", False),
        ("a\x7fb", False),
        ("two\nlines", False),
    ],
)
async def test_a_label_is_one_line_without_control_characters(admin, api, spec, text, allowed):
    partner = await assert_agree(admin, spec, "POST", "/v1/partners", "/v1/partners", body={"name": text})
    assert partner.is_success == allowed
    body = {"name": "tt_labelled", "display_name": text, "member_code": text}
    await assert_agree(api, spec, "POST", "/v1/instances", "/v1/instances", body=body)


@pytest.mark.parametrize(("value", "allowed"), [("two\nlines\ttabbed", True), ("a\x00b", False)])
async def test_a_setting_value_is_any_text_without_nul(api, spec, value, allowed):
    await create_instance(api, "tt_set")
    template, path = "/v1/instances/{name}/settings/{key}", "/v1/instances/tt_set/settings/note"
    response = await assert_agree(api, spec, "PUT", template, path, body={"value": value})
    assert response.is_success == allowed


# --- Integers: JSON has one number type, and 30.0 is the integer 30 to JSON Schema ---------------------


@pytest.mark.parametrize(
    ("minutes", "allowed"),
    [(30, True), (30.0, True), (30.5, False), ("30", False), (True, False)],
)
async def test_an_integer_is_any_whole_number(api, spec, minutes, allowed):
    await create_instance(api, "tt_counted")
    body = {"code": "LIMP", "name": "Limpieza", "duration_minutes": minutes}
    template = "/v1/instances/{name}/services"
    created = await assert_agree(api, spec, "POST", template, "/v1/instances/tt_counted/services", body=body)
    if allowed:
        assert created.json()["duration_minutes"] == 30
        template += "/{code}"
        patched = await assert_agree(
            api,
            spec,
            "PATCH",
            template,
            "/v1/instances/tt_counted/services/LIMP",
            body={"duration_minutes": 45.0},
        )
        assert patched.json()["duration_minutes"] == 45
    rules = {**GESDENT_RULES, "interval_minutes": minutes, "window_days": 7.0}
    await assert_agree(
        api, spec, "PUT", "/v1/instances/{name}/gesdent", "/v1/instances/tt_counted/gesdent", body=rules
    )


# --- Settings: a merge patch holds setting keys only ---------------------------------------------------


@pytest.mark.parametrize(
    ("patch", "allowed"),
    [
        ({"colour": "blue", "note": None}, True),
        ({"bad key": "blue"}, False),
        ({"": "blue"}, False),
        ({"1st": None}, False),
        ({"colour": {"nested": "object"}}, False),
    ],
)
async def test_a_settings_patch_holds_setting_keys_only(api, spec, patch, allowed):
    await create_instance(api, "tt_patched")
    template, path = "/v1/instances/{name}/settings", "/v1/instances/tt_patched/settings"
    await assert_agree(
        api, spec, "PATCH", template, path, body=patch, media_type="application/merge-patch+json"
    )


# --- Service codes: `import` and `export` are words of the URLs, no service's code ----------------------


@pytest.mark.parametrize(
    ("code", "allowed"), [("Import", True), ("exports", True), ("import", False), ("export", False)]
)
async def test_a_service_code_is_not_a_reserved_word(api, spec, code, allowed):
    await create_instance(api, "tt_coded")
    body = {"code": code, "name": "Limpieza", "duration_minutes": 30}
    await assert_agree(
        api, spec, "POST", "/v1/instances/{name}/services", "/v1/instances/tt_coded/services", body=body
    )


# --- Updates: a field that may be left out is not always one that may be null --------------------------


@pytest.mark.parametrize(
    ("body", "allowed"),
    [
        ({"member_code": None}, True),
        ({"display_name": "Clinic"}, True),
        ({"display_name": None}, False),
    ],
)
async def test_an_instance_update_nulls_what_may_be_null(api, spec, body, allowed):
    await create_instance(api, "tt_nulled", member_code="N1")
    await assert_agree(api, spec, "PATCH", "/v1/instances/{name}", "/v1/instances/tt_nulled", body=body)


@pytest.mark.parametrize(
    ("body", "allowed"),
    [
        ({"price": None}, True),
        ({"name": "Limpieza"}, True),
        ({"name": None}, False),
        ({"duration_minutes": None}, False),
        ({"web_enabled": None}, False),
    ],
)
async def test_a_service_update_nulls_what_may_be_null(api, spec, body, allowed):
    await create_instance(api, "tt_nulled")
    created = await api.post(
        "/v1/instances/tt_nulled/services", json={"code": "LIMP", "name": "L", "duration_minutes": 30}
    )
    assert created.status_code == 201, created.text
    template, path = "/v1/instances/{name}/services/{code}", "/v1/instances/tt_nulled/services/LIMP"
    await assert_agree(api, spec, "PATCH", template, path, body=body)


async def test_an_invalid_update_is_a_422_whatever_its_if_match(api):
    # An invalid body is refused as such before its precondition is read, null included.
    await create_instance(api, "tt_nulled")
    stale = {"If-Match": '"stale"'}
    response = await api.patch("/v1/instances/tt_nulled", json={"display_name": None}, headers=stale)
    assert response.status_code == 422, response.text
    created = await api.post(
        "/v1/instances/tt_nulled/services", json={"code": "L", "name": "L", "duration_minutes": 30}
    )
    assert created.status_code == 201, created.text
    response = await api.patch("/v1/instances/tt_nulled/services/L", json={"name": None}, headers=stale)
    assert response.status_code == 422, response.text
    rules = await api.put("/v1/instances/tt_nulled/gesdent", json=GESDENT_RULES)
    assert rules.status_code == 201, rules.text
    invalid = {**GESDENT_RULES, "resource_ids": "0"}
    response = await api.put("/v1/instances/tt_nulled/gesdent", json=invalid, headers=stale)
    assert response.status_code == 422, response.text


# --- GESDENT rules: the credential string, the resource IDs, the base URL (tests/unit/domain/
# test_gesdent_patterns.py checks each pattern against the rules on generated values) ------------------


@pytest.mark.parametrize(
    ("change", "allowed"),
    [
        ({"credentials": {"users": "digest: pw", "reservations": "r:pw", "availability": "a:pw"}}, True),
        ({"credentials": {"users": "no-colon", "reservations": "r:pw", "availability": "a:pw"}}, False),
        ({"credentials": {"users": " :pw", "reservations": "r:pw", "availability": "a:pw"}}, False),
        ({"resource_ids": "ejejqkv5-etreaxnr; AB-12"}, True),
        ({"resource_ids": ["\u00df-1"]}, False),
        ({"resource_ids": "AB-12 CD"}, False),
        ({"base_url": "HTTP://[::1]:8900/api"}, True),
        ({"base_url": "https://cl\u00ednica.example/"}, False),
        ({"base_url": "https://gesdent.example:65536/"}, False),
    ],
)
async def test_gesdent_rules_as_written(api, spec, change, allowed):
    await create_instance(api, "tt_ruled")
    body = {**GESDENT_RULES, **change}
    await assert_agree(
        api, spec, "PUT", "/v1/instances/{name}/gesdent", "/v1/instances/tt_ruled/gesdent", body=body
    )
