"""Methods as clients expect them: a 405 whose Allow lists every method of the path, OPTIONS answered
on every path that exists, HEAD wherever a GET only reads; an unknown path stays a 404."""

import pytest

from tests.conftest import assert_problem, create_instance


def _allow(response):
    return {method.strip() for method in response.headers["allow"].split(",")}


INSTANCE_METHODS = {"GET", "HEAD", "PATCH", "DELETE", "OPTIONS"}


async def test_a_405_lists_every_method_of_the_path(api):
    await create_instance(api, "tt_clinic")
    # GET, PATCH and DELETE of /v1/instances/{name} are three routes; the router used to stop at the
    # first one and answer `Allow: GET`.
    response = await api.put("/v1/instances/tt_clinic", json={})
    body = assert_problem(response, 405, "method-not-allowed")
    assert _allow(response) == INSTANCE_METHODS
    assert body["detail"] == "PUT is not a method of this path; it takes DELETE, GET, HEAD, OPTIONS, PATCH."


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/v1/instances", {"GET", "HEAD", "POST", "OPTIONS"}),
        ("POST", "/healthz", {"GET", "HEAD", "OPTIONS"}),
        ("PUT", "/v1/instances/tt_any/settings", {"GET", "HEAD", "PATCH", "OPTIONS"}),
        ("POST", "/v1/instances/tt_any/gesdent", {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}),
        ("PUT", "/openapi.json", {"GET", "HEAD", "OPTIONS"}),
    ],
)
async def test_every_405_is_a_problem_with_the_whole_allow(anon, method, path, allowed):
    # The 405 comes before authentication: Allow tells nothing about any partner's data.
    response = await anon.request(method, path)
    assert_problem(response, 405, "method-not-allowed")
    assert _allow(response) == allowed


async def test_options_answers_allow_on_any_existing_path(anon):
    response = await anon.options("/v1/instances/tt_whatever")
    assert response.status_code == 204
    assert _allow(response) == INSTANCE_METHODS
    assert response.content == b""
    # A path that also matches a templated one (`services/{code}`) is its own resource, as OpenAPI
    # matches concrete paths first: `import` and `export` are no service's code.
    imports = await anon.options("/v1/instances/tt_whatever/services/import")
    assert imports.status_code == 204
    assert _allow(imports) == {"POST", "OPTIONS"}
    # A path that does not exist stays a 404, whatever the method.
    assert_problem(await anon.options("/v1/nothing-here"), 404, "not-found")
    assert_problem(await anon.put("/v1/nothing-here"), 404, "not-found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PATCH", "/v1/instances/tt_any/services/export", {"GET", "HEAD", "OPTIONS"}),
        ("DELETE", "/v1/instances/tt_any/services/export", {"GET", "HEAD", "OPTIONS"}),
        ("GET", "/v1/instances/tt_any/services/import", {"POST", "OPTIONS"}),
        ("HEAD", "/v1/instances/tt_any/services/import", {"POST", "OPTIONS"}),
        ("DELETE", "/v1/instances/tt_any/services/import", {"POST", "OPTIONS"}),
    ],
)
async def test_a_concrete_path_is_not_taken_by_a_templated_one(api, method, path, allowed):
    # The router would have served these as the service `export` or `import` (a 404: no service can
    # have a reserved code), and OPTIONS listed the methods of both paths, against the spec.
    response = await api.request(method, path)
    assert response.status_code == 405
    assert _allow(response) == allowed
    assert _allow(await api.options(path)) == allowed


async def test_head_is_the_get_without_its_body(api):
    await create_instance(api, "tt_clinic")
    get = await api.get("/v1/instances/tt_clinic")
    head = await api.head("/v1/instances/tt_clinic")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.headers["content-type"] == "application/json"


async def test_head_is_checked_like_its_get(api, anon):
    unauthorized = await anon.head("/v1/instances")
    assert unauthorized.status_code == 401
    assert unauthorized.headers["content-type"] == "application/problem+json"
    assert unauthorized.content == b""
    unknown = await api.head("/v1/instances", params={"limt": "5"})
    assert unknown.status_code == 422
    assert unknown.content == b""


async def test_a_get_that_writes_takes_no_head(api):
    # The old importer's URL starts a run: HEAD, a safe method, must not.
    await create_instance(api, "tt_clinic")
    response = await api.head("/cron_importer_gesdent.php", params={"dbName": "tt_clinic"})
    assert response.status_code == 405
    assert _allow(response) == {"GET", "OPTIONS"}
    assert (await api.get("/v1/instances/tt_clinic/sync-runs")).json()["items"] == []


async def test_a_page_answers_its_405_as_a_page_to_a_browser(api):
    browser = await api.put("/v1/portals/tt_portal/report", headers={"Accept": "text/html"})
    assert browser.status_code == 405
    assert browser.headers["content-type"].startswith("text/html")
    assert _allow(browser) == {"GET", "HEAD", "OPTIONS"}
    script = await api.put("/v1/portals/tt_portal/report")
    assert_problem(script, 405, "method-not-allowed")
    assert _allow(script) == {"GET", "HEAD", "OPTIONS"}
    assert "Accept" in script.headers["vary"]


async def test_a_405_comes_before_the_query_string_check(anon):
    response = await anon.delete("/healthz", params={"verbose": "1"})
    assert_problem(response, 405, "method-not-allowed")
    assert _allow(response) == {"GET", "HEAD", "OPTIONS"}
