"""GET /v1/audit-events: isolation, the master key's view, filters, pagination, NDJSON, a failed write,
retention."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlmodel import col

from app.audit import context as audit
from app.db.models import AuditEvent, Instance
from app.sync.retention import RetentionPolicy, prune
from tests.conftest import ALL_SCOPES, add_member, assert_problem, create_instance, create_portal

URL = "/v1/audit-events"


async def _events(client, **params):
    response = await client.get(URL, params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_a_partner_sees_its_own_events_and_the_master_key_all(api, other, admin):
    await create_instance(api, "tt_mine")
    await create_instance(other, "tt_theirs")
    mine = await _events(api)
    assert {e["target"]["instance"] for e in mine if e["target"]["kind"] == "instance"} == {"tt_mine"}
    assert all(e["partner_id"] == api.partner_id for e in mine)
    assert {e["target"]["instance"] for e in await _events(other, kind="instance")} == {"tt_theirs"}
    everyone = await _events(admin, limit=500)
    assert {"tt_mine", "tt_theirs"} <= {e["target"]["instance"] for e in everyone}
    # The operator's own writes (partners, keys) are in the trail too, for the partner they concern.
    assert any(e["target"]["kind"] == "partner" and e["actor"]["type"] == "operator" for e in everyone)
    only = await _events(admin, partner_id=other.partner_id, limit=500)
    assert only
    assert all(e["partner_id"] == other.partner_id for e in only)
    # A partner's partner_id filter never widens its view.
    assert await _events(api, partner_id=other.partner_id) == mine


async def test_the_scope_audit_read(make_client):
    limited = await make_client([s for s in ALL_SCOPES if s != "audit:read"])
    assert_problem(await limited.get(URL), 403, "missing-scope")


async def test_who_changed_this_mapping_and_when(api):
    await create_portal(api, "tt_p")
    await add_member(api, "tt_p", "tt_m")
    for instance, code in (("tt_p", "A"), ("tt_p", "B"), ("tt_m", "X")):
        await api.post(
            f"/v1/instances/{instance}/services", json={"code": code, "name": code, "duration_minutes": 5}
        )
    url = "/v1/portals/tt_p/members/tt_m/mappings"
    assert (await api.post(url, json={"member_service": "X", "portal_service": "A"})).status_code == 201
    assert (
        await api.put(f"{url}/X", json={"portal_service": "B"}, headers={"Idempotency-Key": "k-1"})
    ).is_success
    history = await _events(api, instance="tt_m", kind="mapping", target="X")
    assert [(e["action"], e["operation"], e["changes"]["portal_service"]) for e in history] == [
        ("create", "mappings_create", {"before": None, "after": "A"}),
        ("update", "mappings_put", {"before": "A", "after": "B"}),
    ]
    last = history[-1]
    assert last["idempotency_key"] == "k-1"
    assert last["actor"]["type"] == "api_key"
    assert last["actor"]["partner_id"] == api.partner_id
    assert last["actor"]["key_prefix"].startswith("ptc_")
    assert "key" not in last["actor"]
    assert [e["operation"] for e in await _events(api, operation="mappings_put")] == ["mappings_put"]
    assert await _events(api, actor=last["actor"]["key_id"], operation="mappings_put") == [last]
    assert await _events(api, actor="00000000-0000-7000-8000-000000000000") == []


async def test_time_range_and_pagination(api, app):
    for n in range(5):
        await create_instance(api, f"tt_i{n}")
    every = await _events(api, kind="instance")
    assert len(every) == 5
    moments = [datetime.fromisoformat(e["occurred_at"]) for e in every]
    assert [
        e["target"]["name"] for e in await _events(api, kind="instance", since=every[2]["occurred_at"])
    ] == [e["target"]["name"] for e in every if datetime.fromisoformat(e["occurred_at"]) >= moments[2]]
    until = await _events(api, kind="instance", until=(moments[0]).isoformat())
    assert until == []
    assert_problem(await api.get(URL, params={"since": "2026-01-01T00:00:00"}), 422, "validation-error")
    for lax in ("0.5", "0", "2026-01-01", "1700000000"):  # numbers and days a lax parser would read
        assert_problem(await api.get(URL, params={"until": lax}), 422, "validation-error")
    seen, cursor = [], None
    while True:
        response = await api.get(
            URL, params={"kind": "instance", "limit": 2, **({"cursor": cursor} if cursor else {})}
        )
        body = response.json()
        seen += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert 'rel="next"' in response.headers["link"]
    assert seen == every


async def test_ndjson_streams_every_event(api):
    for n in range(3):
        await create_instance(api, f"tt_n{n}")
    listed = await _events(api)
    for request in ({"headers": {"Accept": "application/x-ndjson"}}, {"params": {"format": "ndjson"}}):
        response = await api.get(URL, **request)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in response.text.splitlines()]
        assert lines == listed


async def test_a_failed_write_leaves_no_event(api, app):
    await create_portal(api, "tt_p")
    await add_member(api, "tt_p", "tt_m")
    before = await _events(api, limit=500)
    # Invariant 2: communications cannot be switched on while the portal has members (409).
    refused = await api.put("/v1/instances/tt_p/communications", json={"enabled": True})
    assert refused.status_code == 409
    # An import with a bad row: nothing written (422).
    csv = "code,name,duration_minutes,price,web_enabled\nOK,Fine,10,,false\nBAD,Broken,-1,,false\n"
    bad = await api.post(
        "/v1/instances/tt_m/services/import", content=csv, headers={"content-type": "text/csv"}
    )
    assert bad.status_code == 422
    assert await _events(api, limit=500) == before
    async with app.state.engine.connect() as connection:
        for response in (refused, bad):
            count = select(func.count()).where(AuditEvent.request_id == response.headers["x-request-id"])
            assert (await connection.execute(count)).scalar_one() == 0


async def test_old_events_are_pruned_in_batches(api, app):
    for n in range(5):
        await create_instance(api, f"tt_old{n}")
    await create_instance(api, "tt_new")
    old = datetime.now(UTC) - timedelta(days=400)
    async with app.state.engine.begin() as connection:
        await connection.execute(
            update(AuditEvent).where(AuditEvent.instance_name.like("tt_old%")).values(occurred_at=old)  # type: ignore[union-attr]
        )
    pruned = await prune(app.state.sessionmaker, RetentionPolicy(audit_days=365, batch=2, sqlite_pause=0))
    assert pruned.audit_events == 5
    assert pruned.batches >= 3
    assert [e["target"]["name"] for e in await _events(api, kind="instance")] == ["tt_new"]


async def test_changes_in_savepoints_of_one_transaction_make_one_event_per_target(api, app):
    """The services take savepoints (creating an instance, attaching a member): what a transaction
    changes of one target is still one event, written when the transaction commits, not when a
    savepoint ends (a created instance then changed is one creation with its final values)."""
    async with app.state.sessionmaker() as session:
        audit.begin(session, operation="test.savepoints", request_id="r-savepoints")
        async with session.begin_nested():
            session.add(Instance(partner_id=api.partner_id, name="tt_saved", display_name="first"))
        async with session.begin_nested():
            found = await session.execute(select(Instance).where(col(Instance.name) == "tt_saved"))
            instance = found.scalar_one()
            instance.display_name = "second"
        await session.commit()
    events = (await api.get("/v1/audit-events", params={"operation": "test.savepoints"})).json()["items"]
    assert [(e["target"]["kind"], e["action"]) for e in events] == [("instance", "create")]
    assert events[0]["changes"]["display_name"] == {"before": None, "after": "second"}
