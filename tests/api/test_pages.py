"""The pages for people: the manual run URL and the summary report in a browser. HTTP Basic (the API
key as password) only there and only for HTML; CSRF-protected forms; errors as pages.
Real browser tests of the same pages: tests/browser/."""

import base64
import re

import httpx
import pytest

from tests.api.test_gesdent import RULES
from tests.api.test_reports import _portal
from tests.conftest import ALL_SCOPES, MASTER_KEY, PartnerClient, assert_problem, create_instance

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
LEGACY = "/cron_importer_gesdent.php"


def key_of(client: httpx.AsyncClient) -> str:
    return client.headers["Authorization"].removeprefix("Bearer ")


def basic(key: str, user: str = "anyone") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{key}".encode()).decode()}


def as_browser(client: httpx.AsyncClient, **extra: str) -> dict[str, str]:
    """Headers of a browser that signed in with the client's key (and no Bearer)."""
    return {**basic(key_of(client)), "Accept": BROWSER, "Sec-Fetch-Site": "none", **extra}


@pytest.fixture
async def configured(api):
    """An instance whose runs can be queued (they are not executed here: tests/browser/ runs them)."""
    await create_instance(api, "sanitas_gesdent_digest")
    response = await api.put("/v1/instances/tt_sanitas_gesdent_digest/gesdent", json=RULES)
    assert response.status_code == 201, response.text
    return api


# --- Signing in -------------------------------------------------------------------------------------


async def test_a_browser_without_credentials_is_asked_for_them(anon):
    for url in (f"{LEGACY}?dbName=tt_x", "/v1/portals/tt_x/report"):
        response = await anon.get(url, headers={"Accept": BROWSER})
        assert response.status_code == 401, response.text
        challenges = response.headers.get_list("www-authenticate")
        assert 'Basic realm="Portico", charset="UTF-8"' in challenges
        assert 'Bearer realm="portico"' in challenges
        assert response.headers["content-type"].startswith("text/html")
        assert "the password is a\nPortico API key" in response.text


async def test_basic_is_refused_where_json_is_asked_for(api, configured):
    key = key_of(api)
    # On a page route, from a script: Basic is not a way to send keys to JSON answers.
    script = await httpx_get(
        api, f"{LEGACY}?dbName=tt_sanitas_gesdent_digest", {**basic(key), "Accept": "*/*"}
    )
    body = assert_problem(script, 401, "unauthorized")
    assert "Basic is accepted only by the pages for people" in body["detail"]
    # On JSON routes, never, even from a browser.
    for url in ("/v1/instances", "/v1/instances/tt_sanitas_gesdent_digest/sync-runs"):
        refused = await httpx_get(api, url, {**basic(key), "Accept": BROWSER})
        assert refused.status_code == 401, url
        assert refused.headers.get_list("www-authenticate") == ['Bearer realm="portico"']
    runs = (await api.get("/v1/instances/tt_sanitas_gesdent_digest/sync-runs")).json()["items"]
    assert runs == []


async def test_wrong_or_malformed_basic_credentials(api, configured):
    for headers in (
        basic("ptc_0000000000000000_wrong"),
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
        basic(""),
    ):
        response = await httpx_get(
            api, f"{LEGACY}?dbName=tt_sanitas_gesdent_digest", {**headers, "Accept": BROWSER}
        )
        assert response.status_code == 401, headers
        assert response.headers["content-type"].startswith("text/html")


async def httpx_get(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> httpx.Response:
    """GET with exactly these credentials: the client's own Bearer header left out."""
    request = client.build_request("GET", url, headers=headers)
    if "authorization" not in {name.lower() for name in headers}:
        del request.headers["authorization"]
    elif headers.get("Authorization", "").startswith("Basic"):
        request.headers["authorization"] = headers["Authorization"]
    return await client.send(request)


# --- The manual run URL -----------------------------------------------------------------------------


async def test_the_manual_run_url_in_a_browser(api, configured):
    url = f"{LEGACY}?dbName=sanitas_gesdent_digest"  # the procedure's database name, without tt_
    started = await httpx_get(api, url, as_browser(api))
    assert started.status_code == 202, started.text
    assert started.headers["content-type"].startswith("text/html")
    shown = re.search(r"<code>([0-9a-f-]{36})</code>", started.text)
    assert shown, started.text
    run_id = shown.group(1)
    watch = f"{LEGACY}?dbName=tt_sanitas_gesdent_digest&amp;run={run_id}"
    assert f'http-equiv="refresh" content="2; url={watch}"' in started.text
    assert 'id="run-status">queued<' in started.text
    assert started.headers["content-security-policy"].startswith("default-src 'none'")
    assert started.headers["x-frame-options"] == "DENY"
    assert started.headers["cache-control"] == "no-store"
    # Reloading the watch URL shows the run and starts nothing.
    watched = await httpx_get(api, watch.replace("&amp;", "&"), as_browser(api))
    assert watched.status_code == 200
    assert run_id in watched.text
    # Opening the trigger URL again while the run is active answers that run.
    again = await httpx_get(api, url, as_browser(api))
    assert again.status_code == 200
    assert run_id in again.text
    assert "was already queued" in again.text
    # Scripts still get JSON, with Bearer.
    scripted = await api.get(LEGACY, params={"dbName": "tt_sanitas_gesdent_digest", "run": run_id})
    assert scripted.status_code == 200
    assert scripted.json()["id"] == run_id
    runs = (await api.get("/v1/instances/tt_sanitas_gesdent_digest/sync-runs")).json()["items"]
    assert [r["id"] for r in runs] == [run_id]


async def test_a_link_from_another_site_does_not_start_a_run(api, configured):
    url = f"{LEGACY}?dbName=tt_sanitas_gesdent_digest"
    for site in ("cross-site", "same-site"):
        asked = await httpx_get(api, url, as_browser(api, **{"Sec-Fetch-Site": site}))
        assert asked.status_code == 200
        assert "Start a GESDENT sync of tt_sanitas_gesdent_digest?" in asked.text
        assert f'href="{url}"' in asked.text
    assert (await api.get("/v1/instances/tt_sanitas_gesdent_digest/sync-runs")).json()["items"] == []


async def test_a_run_of_another_instance_or_partner_is_not_shown(api, other, configured):
    started = await api.get(LEGACY, params={"dbName": "tt_sanitas_gesdent_digest"})
    run_id = started.json()["id"]
    await create_instance(api, "tt_elsewhere")
    assert_problem(await api.get(LEGACY, params={"dbName": "tt_elsewhere", "run": run_id}), 404, "not-found")
    await create_instance(other, "tt_sanitas_gesdent_digest_2")
    theirs = await other.get(LEGACY, params={"dbName": "tt_sanitas_gesdent_digest", "run": run_id})
    assert_problem(theirs, 404, "not-found")
    assert_problem(
        await api.get(LEGACY, params={"dbName": "tt_sanitas_gesdent_digest", "run": "x"}),
        422,
        "validation-error",
    )


async def test_errors_of_a_page_are_pages_with_the_likely_names(api, configured):
    typo = await httpx_get(api, f"{LEGACY}?dbName=tt_sanitas_gedent_digest", as_browser(api))
    assert typo.status_code == 404
    assert typo.headers["content-type"].startswith("text/html")
    assert "Did you mean" in typo.text
    assert f'href="{LEGACY}?dbName=tt_sanitas_gesdent_digest"' in typo.text
    assert f"request id <code>{typo.headers['x-request-id']}</code>" in typo.text  # to quote
    near = await httpx_get(api, f"{LEGACY}?dbName=Sanitas-Gesdent", as_browser(api))
    assert near.status_code == 422
    assert "did you mean &#39;tt_sanitas_gesdent&#39;?" in near.text
    mistyped = await httpx_get(api, f"{LEGACY}?dbname=tt_sanitas_gesdent_digest", as_browser(api))
    assert mistyped.status_code == 422
    assert mistyped.headers["content-type"].startswith("text/html")
    assert "did you mean &#39;dbName&#39;?" in mistyped.text
    # The same errors are problems for scripts.
    assert_problem(await api.get(LEGACY, params={"dbName": "tt_sanitas_gedent_digest"}), 404, "not-found")


# --- The summary report page -------------------------------------------------------------------------


def _token(page: str) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, page
    return token.group(1)


async def test_the_report_page_shows_members_services_and_the_web_column(api):
    await _portal(api)
    page = await httpx_get(api, "/v1/portals/portal/report", as_browser(api))
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert 'id="readiness">ready<' in html
    assert '<section id="tt_a">' in html
    assert '<section id="tt_b">' in html
    assert 'value="off:L1"' in html
    assert 'value="off:R1"' in html
    assert 'value="on:Z1"' in html
    assert "<code>LIMP</code>" in html  # L1 maps to LIMP
    assert "Bookable online but mapped to no portal service" in html
    assert "R1" in html
    assert _token(html)
    # JSON and CSV are unchanged for scripts.
    assert (await api.get("/v1/portals/tt_portal/report")).json()["portal"] == "tt_portal"
    csv = await api.get("/v1/portals/tt_portal/report", headers={"Accept": "text/csv"})
    assert csv.headers["content-type"].startswith("text/csv")


async def test_a_green_bullet_switches_the_service_off_and_a_grey_one_on(api):
    await _portal(api)
    page = (await httpx_get(api, "/v1/portals/tt_portal/report", as_browser(api))).text
    form = {"csrf_token": _token(page), "member": "tt_a", "page": "1", "set": "off:L1"}
    switched = await _post_form(api, "/v1/portals/tt_portal/report/web", form, as_browser(api))
    assert switched.status_code == 303, switched.text
    assert switched.headers["location"] == "/v1/portals/tt_portal/report?page=1#tt_a"
    assert (await api.get("/v1/instances/tt_a/services/L1")).json()["web_enabled"] is False
    form["set"] = "on:Z1"
    await _post_form(api, "/v1/portals/tt_portal/report/web", form, as_browser(api))
    assert (await api.get("/v1/instances/tt_a/services/Z1")).json()["web_enabled"] is True
    after = (await httpx_get(api, "/v1/portals/tt_portal/report", as_browser(api))).text
    assert 'value="on:L1"' in after
    assert 'value="off:Z1"' in after


async def test_the_web_column_refuses_forged_forms(api, other):
    await _portal(api)
    page = (await httpx_get(api, "/v1/portals/tt_portal/report", as_browser(api))).text
    good = {"csrf_token": _token(page), "member": "tt_a", "page": "1", "set": "off:L1"}
    url = "/v1/portals/tt_portal/report/web"
    forged = [
        ({**good, "csrf_token": "1.forged"}, as_browser(api)),
        ({k: v for k, v in good.items() if k != "csrf_token"}, as_browser(api)),
        (good, as_browser(api, **{"Sec-Fetch-Site": "cross-site"})),
    ]
    # A token issued to another key of the same partner does not do either.
    same_partner = await _same_partner_client(api)
    forged.append((good, as_browser(same_partner)))
    for form, headers in forged:
        refused = await _post_form(api, url, form, headers)
        assert refused.status_code in (403, 422), refused.text
        assert refused.headers["content-type"].startswith("text/html")
    assert (await api.get("/v1/instances/tt_a/services/L1")).json()["web_enabled"] is True
    # Another partner: not its portal.
    theirs = await _post_form(api, url, good, as_browser(other))
    assert theirs.status_code in (403, 404)
    # A key that may not write services sees the column but no buttons, and cannot post.
    reader = await _same_partner_client(api, scopes=["instances:read"])
    read_only = (await httpx_get(api, "/v1/portals/tt_portal/report", as_browser(reader))).text
    assert 'value="off:L1"' not in read_only
    assert "csrf_token" not in read_only
    assert (await _post_form(api, url, good, as_browser(reader))).status_code == 403
    assert (await api.get("/v1/instances/tt_a/services/L1")).json()["web_enabled"] is True


async def test_the_web_column_touches_only_members_of_that_portal(api):
    await _portal(api)
    await create_instance(api, "tt_loner")
    await api.post("/v1/instances/tt_loner/services", json={"code": "L1", "name": "L", "duration_minutes": 5})
    page = (await httpx_get(api, "/v1/portals/tt_portal/report", as_browser(api))).text
    form = {"csrf_token": _token(page), "member": "tt_loner", "page": "1", "set": "on:L1"}
    refused = await _post_form(api, "/v1/portals/tt_portal/report/web", form, as_browser(api))
    assert refused.status_code == 404
    assert (await api.get("/v1/instances/tt_loner/services/L1")).json()["web_enabled"] is False


async def _post_form(
    client: httpx.AsyncClient, url: str, form: dict[str, str], headers: dict[str, str]
) -> httpx.Response:
    request = client.build_request("POST", url, data=form)
    request.headers["authorization"] = headers["Authorization"]
    for name, value in headers.items():
        if name != "Authorization":
            request.headers[name] = value
    return await client.send(request)


async def _same_partner_client(api: PartnerClient, scopes: list[str] | None = None) -> httpx.AsyncClient:
    admin_headers = {"Authorization": f"Bearer {MASTER_KEY}"}
    body = {"name": "second key", "scopes": scopes or ALL_SCOPES}
    created = await api.post(f"/v1/partners/{api.partner_id}/api-keys", json=body, headers=admin_headers)
    assert created.status_code == 201, created.text
    return httpx.AsyncClient(
        transport=api._transport,
        base_url=api.base_url,
        headers={"Authorization": f"Bearer {created.json()['key']}"},
    )
