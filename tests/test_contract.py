"""The spec check every test client runs (tests/contract.py) catches what it is there for."""

import httpx

from tests.contract import problems

INSTANCE = {
    "name": "tt_clinic_north",
    "display_name": "Clinic North",
    "member_code": None,
    "kind": "standalone",
    "portal": None,
    "cloned_from": None,
    "time_zone": "Europe/Madrid",
    "version": 1,
    "created_at": "2026-12-01T02:22:04.134805Z",
    "updated_at": "2026-12-01T02:22:04.134805Z",
}


REQUEST_ID = {"X-Request-ID": "4bf92f3577b34da6a3ce929d0e0e4736"}  # on every answer


def _answer(method, path, status, *, json=None, headers=None):
    request = httpx.Request(method, f"http://portico.test{path}")
    return httpx.Response(status, json=json, headers={**REQUEST_ID, **(headers or {})}, request=request)


def test_a_conforming_answer_passes():
    assert (
        problems(_answer("GET", "/v1/instances/tt_clinic_north", 200, json=INSTANCE, headers={"ETag": '"a"'}))
        == []
    )


def test_each_kind_of_contradiction_is_reported():
    path = "/v1/instances/tt_clinic_north"
    [status] = problems(_answer("GET", path, 418, json={}))
    assert "status not declared" in status
    [header] = problems(_answer("GET", path, 200, json=INSTANCE))
    assert "required header ETag missing" in header
    request = httpx.Request("GET", f"http://portico.test{path}")
    [no_id] = problems(httpx.Response(200, json=INSTANCE, headers={"ETag": '"a"'}, request=request))
    assert "required header X-Request-ID missing" in no_id
    [body] = problems(_answer("GET", path, 200, json={**INSTANCE, "kind": "clinic"}, headers={"ETag": '"a"'}))
    assert "clinic" in body
    [media] = problems(_answer("GET", "/v1/instances", 200, headers={"Content-Type": "text/plain"}))
    assert "content type 'text/plain' not declared" in media


def test_what_the_spec_does_not_describe_is_not_checked():
    assert problems(_answer("OPTIONS", "/v1/instances", 204)) == []
    assert problems(_answer("GET", "/docs", 200)) == []
