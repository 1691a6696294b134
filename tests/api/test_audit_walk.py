"""Every write route of the app leaves exactly the audit events specified here, with the right diff and
no secret anywhere in the stored rows. The routes are enumerated from the app: a new write route
that this walk does not call fails `test_the_walk_calls_every_write_route`."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import text

from app.db.session import writes_on_get
from app.domain.webhooks import sign
from tests.conftest import ALL_SCOPES, GESDENT_RULES, KeyFactory

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Routes that write data, not configuration (a sync run, a webhook's replay record, an outbound
# event's delivery): no audit event, by design (docs/audit.md).
DATA_ONLY = {
    "sync_runs_create",
    "sync_legacy_trigger",
    "webhooks_gesdent",
    "webhook_endpoints_test",
    "webhook_deliveries_redeliver",
}
SECRETS = ["u:pw", "pw", "rotated-secret-pw"]


def write_routes(app: FastAPI) -> set[str]:
    found = set()
    for context in iter_route_contexts(app.routes):
        route = context.route
        if isinstance(route, APIRoute) and (
            set(route.methods or ()) & WRITE_METHODS or writes_on_get(route.endpoint)
        ):
            assert route.operation_id, route.path
            found.add(route.operation_id)
    return found


async def rows_of(app: FastAPI, response: httpx.Response) -> list[dict[str, Any]]:
    """The raw audit rows the request wrote."""
    async with app.state.engine.connect() as connection:
        result = await connection.execute(
            text("SELECT * FROM audit_events WHERE request_id = :r ORDER BY id"),
            {"r": response.headers["x-request-id"]},
        )
        return [dict(row._mapping) for row in result]


class Walk:
    def __init__(self, app: FastAPI, secrets: list[str]) -> None:
        self.app = app
        self.secrets = secrets
        self.called: set[str] = set()

    async def step(
        self,
        operation: str,
        response: httpx.Response,
        expected: list[tuple[str, str, str, dict[str, Any] | None]],
    ) -> list[dict[str, Any]]:
        """`response` (of `operation`) succeeded and left exactly `expected`: (kind, name, action,
        changes — None: not compared) in any order."""
        assert response.status_code < 400, (operation, response.text)
        self.called.add(operation)
        rows = await rows_of(self.app, response)
        got = sorted((r["target_kind"], r["target_name"], r["action"]) for r in rows)
        assert got == sorted((k, n, a) for k, n, a, _ in expected), (operation, got)
        for row in rows:
            assert row["operation"] == operation
            # Its target's id: every part of it (a composite key's too) the row's own, never "None".
            assert "None" not in row["target_id"].split(":"), (operation, row)
            raw = json.dumps(row, default=str)
            for secret in self.secrets:
                assert secret not in raw, (operation, secret, raw)
            for kind, name, action, changes in expected:
                same = (kind, name, action) == (row["target_kind"], row["target_name"], row["action"])
                if same and changes is not None:
                    assert json.loads(row["changes"]) == changes, (operation, row["changes"])
        return rows


def ch(before: Any, after: Any) -> dict[str, Any]:
    return {"before": before, "after": after}


async def test_the_walk_calls_every_write_route(
    app: FastAPI, admin: httpx.AsyncClient, make_client: KeyFactory
):
    api = await make_client([*ALL_SCOPES, "keys:write"])
    key_plaintext = api.headers["Authorization"].removeprefix("Bearer ")
    walk = Walk(app, [*SECRETS, key_plaintext])
    await _walk(walk, app, admin, api)
    assert walk.called == write_routes(app), sorted(write_routes(app) ^ walk.called)


# One walk, in the order the routes need each other's results: longer than a test usually is.
async def _walk(  # noqa: PLR0915
    walk: Walk, app: FastAPI, admin: httpx.AsyncClient, api: httpx.AsyncClient
) -> None:
    # Partners and keys: the master key, actor operator.
    created = await admin.post("/v1/partners", json={"name": "walk partner"})
    rows = await walk.step(
        "partners_create",
        created,
        [("partner", "walk partner", "create", {"name": ch(None, "walk partner")})],
    )
    assert (rows[0]["actor_type"], rows[0]["actor_via"], rows[0]["actor_key_id"]) == (
        "operator",
        "master_key",
        None,
    )
    partner = created.json()["id"]
    limited = await admin.patch(f"/v1/partners/{partner}", json={"rate_limit": "500/second"})
    rows = await walk.step(
        "partners_update",
        limited,
        [("partner", "walk partner", "update", {"rate_limit": ch(None, "500/second")})],
    )
    key = await admin.post(
        f"/v1/partners/{partner}/api-keys", json={"name": "k", "scopes": ["instances:read"]}
    )
    walk.secrets.append(key.json()["key"])
    rows = await walk.step("api_keys_create", key, [("api_key", "k", "create", None)])
    changes = json.loads(rows[0]["changes"])
    assert changes["key_hash"] == ch(None, "[redacted]")
    assert changes["scopes"] == ch(None, "instances:read")
    revoked = await admin.delete(f"/v1/api-keys/{key.json()['id']}")
    rows = await walk.step("api_keys_revoke", revoked, [("api_key", "k", "update", None)])
    assert list(json.loads(rows[0]["changes"])) == ["revoked_at"]

    # Instances, settings, communications.
    r = await api.post(
        "/v1/instances",
        json={"name": "tt_p", "display_name": "Portal"},
        headers={"Idempotency-Key": "idem-1"},
    )
    rows = await walk.step("instances_create", r, [("instance", "tt_p", "create", None)])
    assert rows[0]["idempotency_key"] == "idem-1"
    assert rows[0]["actor_type"] == "api_key"
    assert rows[0]["actor_key_prefix"].startswith("ptc_")
    assert rows[0]["actor_key_prefix"] in walk.secrets[-2]
    r = await api.patch("/v1/instances/tt_p", json={"display_name": "The portal"})
    await walk.step(
        "instances_update", r, [("instance", "tt_p", "update", {"display_name": ch("Portal", "The portal")})]
    )
    r = await api.put("/v1/instances/tt_p/communications", json={"enabled": False})
    await walk.step(
        "communications_put", r, [("instance", "tt_p", "update", {"comms_enabled": ch(True, False)})]
    )
    r = await api.put("/v1/instances/tt_p/settings/colour", json={"value": "blue"})
    await walk.step(
        "settings_put",
        r,
        [("setting", "colour", "create", {"key": ch(None, "colour"), "value": ch(None, "blue")})],
    )
    r = await api.patch("/v1/instances/tt_p/settings", json={"colour": "red", "size": "L"})
    await walk.step(
        "settings_patch",
        r,
        [("setting", "colour", "update", {"value": ch("blue", "red")}), ("setting", "size", "create", None)],
    )
    r = await api.delete("/v1/instances/tt_p/settings/size")
    await walk.step(
        "settings_delete",
        r,
        [("setting", "size", "delete", {"key": ch("size", None), "value": ch("L", None)})],
    )
    r = await api.post("/v1/portals", json={"instance": "tt_p"})
    await walk.step("portals_create", r, [("setting", "portalInstanceName", "create", None)])

    # Services.
    r = await api.post(
        "/v1/instances/tt_p/services", json={"code": "HYG", "name": "Hygiene", "duration_minutes": 30}
    )
    await walk.step("services_create", r, [("service", "HYG", "create", None)])
    r = await api.patch("/v1/instances/tt_p/services/HYG", json={"web_enabled": True})
    await walk.step("services_update", r, [("service", "HYG", "update", {"web_enabled": ch(False, True)})])
    csv = "code,name,duration_minutes,price,web_enabled\nHYG,Hygiene,45,,true\nXR,X-ray,15,20.00,false\n"
    r = await api.post(
        "/v1/instances/tt_p/services/import", content=csv, headers={"content-type": "text/csv"}
    )
    await walk.step(
        "services_import",
        r,
        [
            ("service", "HYG", "update", {"duration_minutes": ch(30, 45)}),
            ("service", "XR", "create", None),
        ],
    )
    r = await api.delete("/v1/instances/tt_p/services/XR")
    await walk.step("services_delete", r, [("service", "XR", "delete", None)])

    # Members and mappings.
    await api.post("/v1/instances", json={"name": "tt_m"})
    await api.post(
        "/v1/instances/tt_m/services", json={"code": "CLEAN", "name": "Cleaning", "duration_minutes": 30}
    )
    r = await api.post("/v1/portals/tt_p/members", json={"instance": "tt_m"})
    await walk.step("members_add", r, [("membership", "tt_m", "create", {"portal": ch(None, "tt_p")})])
    mappings = "/v1/portals/tt_p/members/tt_m/mappings"
    r = await api.post(mappings, json={"member_service": "CLEAN", "portal_service": "HYG"})
    await walk.step(
        "mappings_create",
        r,
        [
            (
                "mapping",
                "CLEAN",
                "create",
                {
                    "member_service": ch(None, "CLEAN"),
                    "portal_service": ch(None, "HYG"),
                    "portal": ch(None, "tt_p"),
                },
            )
        ],
    )
    await api.post(
        "/v1/instances/tt_p/services", json={"code": "POL", "name": "Polish", "duration_minutes": 30}
    )
    r = await api.put(f"{mappings}/CLEAN", json={"portal_service": "POL"})
    await walk.step("mappings_put", r, [("mapping", "CLEAN", "update", {"portal_service": ch("HYG", "POL")})])
    r = await api.put(mappings, json=[{"member_service": "CLEAN", "portal_service": "HYG"}])
    await walk.step(
        "mappings_replace", r, [("mapping", "CLEAN", "update", {"portal_service": ch("POL", "HYG")})]
    )
    r = await api.delete(f"{mappings}/CLEAN")
    await walk.step("mappings_delete", r, [("mapping", "CLEAN", "delete", None)])
    await api.post(mappings, json={"member_service": "CLEAN", "portal_service": "HYG"})
    r = await api.delete("/v1/portals/tt_p/members/tt_m", params={"cascade": "true"})
    await walk.step(
        "members_remove", r, [("mapping", "CLEAN", "delete", None), ("membership", "tt_m", "delete", None)]
    )

    # The report page's Web column (a form for people).
    await api.post("/v1/portals/tt_p/members", json={"instance": "tt_m"})
    token = app.state.csrf.issue(rows[0]["actor_key_id"], "report-web:tt_p")
    r = await api.post(
        "/v1/portals/tt_p/report/web",
        data={"member": "tt_m", "csrf_token": token, "set": "on:CLEAN"},
        follow_redirects=False,
    )
    await walk.step(
        "portals_report_web", r, [("service", "CLEAN", "update", {"web_enabled": ch(False, True)})]
    )

    # Clone: the copy and what it copied.
    r = await api.post("/v1/instances/tt_m/clone", json={"name": "tt_m2"})
    rows = await walk.step(
        "instances_clone", r, [("instance", "tt_m2", "create", None), ("service", "CLEAN", "create", None)]
    )
    r = await api.delete("/v1/instances/tt_m2")
    await walk.step("instances_delete", r, [("instance", "tt_m2", "delete", None)])

    # GESDENT rules: passwords and the webhook secret never stored in the trail.
    rules = {
        **GESDENT_RULES,
        "credentials": {"users": "u:pw", "reservations": "r:pw", "availability": "a:pw"},
    }
    r = await api.put("/v1/instances/tt_m/gesdent", json=rules)
    secret = r.json()["webhook_secret"]
    walk.secrets.append(secret)
    rows = await walk.step("gesdent_put", r, [("gesdent", "tt_m", "create", None)])
    changes = json.loads(rows[0]["changes"])
    assert changes["users_password"] == ch(None, "[redacted]")
    assert changes["webhook_secret"] == ch(None, "[redacted]")
    assert changes["users_username"] == ch(None, "u")

    # Data, not configuration: no event.
    r = await api.post("/v1/instances/tt_m/sync-runs")
    await walk.step("sync_runs_create", r, [])
    r = await api.get("/cron_importer_gesdent.php", params={"dbName": "tt_m"})
    await walk.step("sync_legacy_trigger", r, [])
    body = json.dumps({"type": "data.changed", "db_name": "tt_m"}).encode()
    at = str(int(time.time()))
    headers = {
        "webhook-id": "msg_w",
        "webhook-timestamp": at,
        "webhook-signature": sign(secret, "msg_w", at, body),
        "content-type": "application/json",
    }
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://portico.test"
    ) as anon:
        r = await anon.post("/v1/webhooks/gesdent", content=body, headers=headers)
    await walk.step("webhooks_gesdent", r, [])
    r = await api.delete("/v1/instances/tt_m/gesdent")
    await walk.step("gesdent_delete", r, [("gesdent", "tt_m", "delete", None)])

    # A manifest: its plan writes nothing; its apply leaves the events of what it made, under its own
    # operation, the password it was given redacted.
    manifest = {
        "portal": {
            "name": "walk_chain",
            "communications": {"enabled": False},
            "services": [{"code": "LIMPIEZA", "name": "Limpieza", "duration_minutes": 30}],
        },
        "members": [
            {
                "name": "walk_north",
                "services": [{"code": "LIMP", "name": "Limpieza", "duration_minutes": 30}],
                "mappings": {"LIMP": "LIMPIEZA"},
                "gesdent": {
                    "base_url": "http://127.0.0.1:9/",
                    "resource_ids": ["EJEJQKV5-ETREAXNR"],
                    "credentials": {
                        family: {"username": "digest", "password_secret": "walk"}
                        for family in ("users", "reservations", "availability")
                    },
                },
            }
        ],
        "secrets": {"walk": "walk-manifest-pw"},
    }
    walk.secrets.append("walk-manifest-pw")
    planned = await api.post("/v1/portal-manifests/plan", json=manifest)
    await walk.step("manifests_plan", planned, [])
    fingerprint = planned.json()["fingerprint"]
    r = await api.post("/v1/portal-manifests/apply", json={"manifest": manifest, "fingerprint": fingerprint})
    rows = await walk.step(
        "manifests_apply",
        r,
        [
            ("instance", "tt_walk_chain", "create", None),
            ("setting", "portalInstanceName", "create", None),
            ("service", "LIMPIEZA", "create", None),
            ("instance", "tt_walk_north", "create", None),
            ("membership", "tt_walk_north", "create", None),
            ("service", "LIMP", "create", None),
            ("mapping", "LIMP", "create", None),
            ("gesdent", "tt_walk_north", "create", None),
        ],
    )
    # One event per target for the whole apply: the portal created with its communications off.
    portal = next(row for row in rows if row["target_name"] == "tt_walk_chain")
    assert json.loads(portal["changes"])["comms_enabled"] == ch(None, False)
    gesdent = json.loads(next(row for row in rows if row["target_kind"] == "gesdent")["changes"])
    assert gesdent["users_password"] == ch(None, "[redacted]")

    # Webhook endpoints: the signing secret is redacted.
    r = await api.post(
        "/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/hook", "event_types": ["sync.run.failed"]}
    )
    endpoint = r.json()["id"]
    walk.secrets.append(r.json()["secret"])
    rows = await walk.step(
        "webhook_endpoints_create", r, [("webhook_endpoint", "http://127.0.0.1:9/hook", "create", None)]
    )
    assert json.loads(rows[0]["changes"])["secret"] == ch(None, "[redacted]")
    r = await api.patch(f"/v1/webhook-endpoints/{endpoint}", json={"description": "ops"})
    await walk.step(
        "webhook_endpoints_update",
        r,
        [("webhook_endpoint", "http://127.0.0.1:9/hook", "update", {"description": ch("", "ops")})],
    )
    r = await api.post(f"/v1/webhook-endpoints/{endpoint}/rotate-secret")
    walk.secrets.append(r.json()["secret"])
    rows = await walk.step(
        "webhook_endpoints_rotate_secret",
        r,
        [("webhook_endpoint", "http://127.0.0.1:9/hook", "update", None)],
    )
    changes = json.loads(rows[0]["changes"])
    assert changes["secret"] == ch("[redacted]", "[redacted]")
    assert changes["previous_secret"] == ch(None, "[redacted]")
    r = await api.post(f"/v1/webhook-endpoints/{endpoint}/test")
    await walk.step("webhook_endpoints_test", r, [])
    delivery = (await api.get(f"/v1/webhook-endpoints/{endpoint}/deliveries")).json()["items"][0]["id"]
    r = await api.post(f"/v1/webhook-endpoints/{endpoint}/deliveries/{delivery}/redeliver")
    await walk.step("webhook_deliveries_redeliver", r, [])
    r = await api.delete(f"/v1/webhook-endpoints/{endpoint}")
    await walk.step(
        "webhook_endpoints_delete", r, [("webhook_endpoint", "http://127.0.0.1:9/hook", "delete", None)]
    )

    # Demoting the portal last.
    r = await api.delete("/v1/portals/tt_p", params={"cascade": "true"})
    await walk.step(
        "portals_delete",
        r,
        [("setting", "portalInstanceName", "delete", None), ("membership", "tt_m", "delete", None)],
    )
