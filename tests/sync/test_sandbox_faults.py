"""The GESDENT sandbox's switches: injected faults, mutations between runs, reset, determinism, size."""

from __future__ import annotations

import json
import time
from datetime import date, datetime

import httpx
import pytest

from tests.sync.conftest import TEST_CONFIG
from tests.sync.sandbox_server import SandboxServer
from tests.sync.test_sandbox import MakeSandbox, client, ordered, walk, window

# --- Faults -------------------------------------------------------------------------------------


async def test_5xx_affects_the_next_matching_requests_only(sandbox: SandboxServer) -> None:
    sandbox.control.fault("5xx", status=502, times=2, endpoint="users")
    async with client(sandbox, "reservations") as http:
        assert (await http.get("reservations")).status_code == 200  # another family: untouched
    async with client(sandbox, "users") as http:
        statuses = [(await http.get("users")).status_code for _ in range(3)]
    assert statuses == [502, 502, 200]
    assert sandbox.control.faults() == []
    assert sandbox.control.stats()["users"]["faults"] == 2


async def test_429_carries_retry_after(sandbox: SandboxServer) -> None:
    sandbox.control.fault("429", retry_after=7)
    async with client(sandbox, "availability") as http:
        throttled = await http.get(f"resources/{sandbox.resource_ids[0]}")
        again = await http.get(f"resources/{sandbox.resource_ids[0]}")
    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] == "7"
    assert again.status_code == 200


async def test_faults_queue_in_order(sandbox: SandboxServer) -> None:
    sandbox.control.fault("429")
    sandbox.control.fault("5xx")
    async with client(sandbox, "users") as http:
        statuses = [(await http.get("users")).status_code for _ in range(3)]
    assert statuses == [429, 503, 200]


async def test_slow_delays_the_answer(sandbox: SandboxServer) -> None:
    async with client(sandbox, "users") as http:
        await http.get("users")  # take the challenge first: only authenticated requests meet faults
        sandbox.control.fault("slow", delay=0.4, times=2)
        started = time.perf_counter()
        assert (await http.get("users")).status_code == 200
        assert time.perf_counter() - started >= 0.4
        with pytest.raises(httpx.ReadTimeout):
            await http.get("users", timeout=0.1)
        assert sandbox.control.faults() == []


async def test_drop_cuts_the_body_short(sandbox: SandboxServer) -> None:
    sandbox.control.fault("drop", endpoint="reservations")
    async with client(sandbox, "reservations") as http:
        with pytest.raises(httpx.TransportError) as raised:
            await http.get("reservations", params={"limit": 500})
        assert (await http.get("reservations")).status_code == 200
    print(f"drop surfaced as {type(raised.value).__name__}: {raised.value}")


async def test_malformed_is_a_200_that_is_not_json(sandbox: SandboxServer) -> None:
    sandbox.control.fault("malformed")
    async with client(sandbox, "users") as http:
        response = await http.get("users")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_wrong_credentials_last_until_cleared(sandbox: SandboxServer) -> None:
    sandbox.control.fault("wrong_credentials", endpoint="reservations")
    async with client(sandbox, "reservations") as reservations, client(sandbox, "users") as users:
        assert (await reservations.get("reservations")).status_code == 401
        assert (await reservations.get("reservations")).status_code == 401
        assert (await users.get("users")).status_code == 200
        sandbox.control.clear_faults()
        assert (await reservations.get("reservations")).status_code == 200


def test_control_api_validates_faults(sandbox: SandboxServer) -> None:
    answer = httpx.post(sandbox.root + "_sandbox/faults", json={"mode": "explode"})
    assert answer.status_code == 422
    assert answer.json()["errors"]
    answer = httpx.post(
        sandbox.root + "_sandbox/faults", json=[{"mode": "5xx"}, {"mode": "drop", "times": 3}]
    )
    assert [(f["mode"], f["remaining"]) for f in answer.json()["faults"]] == [("5xx", 1), ("drop", 3)]


# --- Mutations, reset -----------------------------------------------------------------------------


async def test_mutation_shows_only_the_changed_records(sandbox: SandboxServer) -> None:
    async with client(sandbox, "users") as http:
        before = await walk(http, "users", limit=1000)
        previous_max = before[-1]["updated_at"]
        at_previous_max = {u["id"] for u in before if u["updated_at"] == previous_max}
        change = sandbox.control.mutate(patients=6, new_patients=2)
        assert len(change["patients"]) == 8
        assert len(change["patients_created"]) == 2
        assert change["updated_at"] > previous_max
        since = await walk(http, "users", updated_since=previous_max)
        assert {u["id"] for u in since} == set(change["patients"]) | at_previous_max
        newest = await walk(http, "users", updated_since=change["updated_at"])
        assert sorted(u["id"] for u in newest) == change["patients"]
        assert all(u["updated_at"] == change["updated_at"] for u in newest)
        after = await walk(http, "users", limit=1000)
    old = {u["id"]: u for u in before}
    assert all(u != old.get(u["id"]) for u in newest)  # every reported record really changed
    assert ordered(after)
    assert len(after) == TEST_CONFIG.patients + 2


async def test_reservation_mutations_and_availability_shift(sandbox: SandboxServer) -> None:
    resource_id = sandbox.resource_ids[0]
    async with client(sandbox, "availability") as http:
        slots_before = (
            await http.get("availability", params={"resource_id": resource_id, **window(sandbox)})
        ).json()
    change = sandbox.control.mutate(reservations=40, new_reservations=5, availability=True)
    assert change["availability_version"] == 1
    assert len(change["reservations_created"]) == 5
    assert change["reservations_cancelled"] or change["reservations_moved"]
    async with client(sandbox, "reservations") as http:
        changed = await walk(http, "reservations", updated_since=change["updated_at"])
        mine = await walk(http, "reservations", resource_id=resource_id, updated_since=change["updated_at"])
    assert sorted(r["id"] for r in changed) == change["reservations"]
    assert {r["id"] for r in mine} == {r["id"] for r in changed if r["resource_id"] == resource_id}
    assert all(r["status"] == "cancelled" for r in changed if r["id"] in change["reservations_cancelled"])
    async with client(sandbox, "availability") as http:
        slots_after = (
            await http.get("availability", params={"resource_id": resource_id, **window(sandbox)})
        ).json()
    assert slots_after["slots"] != slots_before["slots"]


async def test_mutation_stamps_are_strictly_later(make_sandbox: MakeSandbox) -> None:
    # A clinic "today" years ahead: its data is newer than the clock, and stamps must still grow.
    server = make_sandbox(today=date(2031, 3, 3))
    async with client(server, "users") as http:
        newest = (await walk(http, "users", limit=1000))[-1]["updated_at"]
    stamps = [server.control.mutate(patients=1)["updated_at"] for _ in range(3)]
    assert newest < stamps[0] < stamps[1] < stamps[2]


async def test_cursor_survives_changes_between_pages(sandbox: SandboxServer) -> None:
    """A keyset cursor: records changed mid-walk move to the end, nothing is skipped."""
    async with client(sandbox, "users") as http:
        first = (await http.get("users", params={"limit": 100})).json()
        change = sandbox.control.mutate(patients=30)
        rest = await walk(http, "users", cursor=first["next_cursor"], limit=100)
    seen = [u["id"] for u in first["items"] + rest]
    assert len(set(seen)) == TEST_CONFIG.patients  # every record at least once
    assert len(seen) - len(set(seen)) == len(set(change["patients"]) & {u["id"] for u in first["items"]})


async def test_reset_restores_the_initial_state(sandbox: SandboxServer) -> None:
    async with client(sandbox, "users") as http:
        initial = await walk(http, "users", limit=1000)
        sandbox.control.mutate(patients=10, new_patients=3)
        sandbox.control.fault("5xx", times=5)
        sandbox.control.reset()
        assert sandbox.control.faults() == []
        assert await walk(http, "users", limit=1000) == initial
    assert sandbox.control.stats()["users"]["requests"] == 1


# --- Determinism and size ----------------------------------------------------------------------------


async def _everything(server: SandboxServer) -> dict[str, object]:
    async with client(server, "users") as http:
        users = await walk(http, "users", limit=1000)
    async with client(server, "reservations") as http:
        reservations = await walk(http, "reservations", limit=1000)
    async with client(server, "availability") as http:
        params = {"resource_id": server.resource_ids[-1], **window(server)}
        slots = (await http.get("availability", params=params)).json()
        resource = (await http.get(f"resources/{server.resource_ids[-1]}")).json()
    return {"users": users, "reservations": reservations, "slots": slots, "resource": resource}


async def test_same_seed_same_data(make_sandbox: MakeSandbox) -> None:
    one, two, other = make_sandbox(), make_sandbox(), make_sandbox(seed=2)
    assert one.credentials == two.credentials != other.credentials
    assert one.resource_ids == two.resource_ids != other.resource_ids
    assert await _everything(one) == await _everything(two)
    assert (await _everything(one))["users"] != (await _everything(other))["users"]
    # Mutations too, apart from their timestamp, which comes from the clock.
    for _ in range(2):
        first = one.control.mutate(patients=5, reservations=5, new_reservations=2, availability=True)
        second = two.control.mutate(patients=5, reservations=5, new_reservations=2, availability=True)
        assert first.pop("updated_at")
        assert second.pop("updated_at")
        assert first == second


async def test_a_large_sandbox_holds_every_record_asked_for(make_sandbox: MakeSandbox) -> None:
    """100k reservations for 10k patients on 4 resources: each record is generated and paged out
    once, in cursor order, on a resource of the sandbox, for one of its patients, with no two
    reservations of a resource at the same time. How long it takes depends on the machine: printed,
    not asserted (bench/ measures speed)."""
    started = time.perf_counter()
    server = make_sandbox(patients=10_000, reservations=100_000, resources=4)
    ready = time.perf_counter() - started
    info = server.control.info()
    assert info["counts"] == {"patients": 10_000, "reservations": 100_000}
    assert len(set(info["resource_ids"])) == 4
    async with client(server, "users") as http:
        patients = await walk(http, "users", limit=1000)
    async with client(server, "reservations") as http:
        started = time.perf_counter()
        reservations = await walk(http, "reservations", limit=1000)
        paged = time.perf_counter() - started
    assert len(patients) == 10_000
    assert ordered(patients)
    assert len(reservations) == 100_000
    assert ordered(reservations)
    assert {r["resource_id"] for r in reservations} == set(info["resource_ids"])
    assert {r["user_id"] for r in reservations} <= {p["id"] for p in patients}
    assert len({(r["resource_id"], r["start"]) for r in reservations}) == 100_000
    assert all(datetime.fromisoformat(r["start"]) < datetime.fromisoformat(r["end"]) for r in reservations)
    print(
        f"100k reservations / 10k patients: ready in {ready:.2f}s, "
        f"{paged / len(reservations) * 1e6:.1f} ms per 1000-item page"
    )
