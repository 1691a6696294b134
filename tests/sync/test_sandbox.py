"""The GESDENT sandbox itself, over real HTTP with httpx's Digest client: authentication, paging,
filters, faults, mutations, determinism and size. The sync tests trust it, so it is tested first."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.request import parse_http_list

import httpx
import pytest

from gesdent_sandbox import RESERVATION_STATUSES, RESOURCE_KINDS, TREATMENT_CODES, Credential, cli
from gesdent_sandbox.config import ENDPOINTS, Endpoint
from tests.sync.conftest import TEST_CONFIG
from tests.sync.sandbox_server import SandboxServer

MakeSandbox = Callable[..., SandboxServer]


def client(server: SandboxServer, endpoint: Endpoint, **options: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, auth=server.auth(endpoint), **options)


async def walk(http: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paged list, following next_cursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = await http.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "next_cursor"}
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def ordered(items: list[dict[str, Any]]) -> bool:
    keys = [(item["updated_at"], item["id"]) for item in items]
    return keys == sorted(keys) and len(set(keys)) == len(keys)


def window(server: SandboxServer, days: int = 21) -> dict[str, str]:
    today = server.sandbox.dataset.today
    return {"from": today.isoformat(), "to": (today + timedelta(days=days)).isoformat()}


# --- Digest ------------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
async def test_digest_round_trip(make_sandbox: MakeSandbox, algorithm: str) -> None:
    server = make_sandbox(algorithm=algorithm)
    async with httpx.AsyncClient() as anonymous:
        challenge = await anonymous.get(server.url + "users")
    assert challenge.status_code == 401
    header = challenge.headers["www-authenticate"]
    assert header.startswith('Digest realm="GESDENT", qop="auth"')
    assert f"algorithm={algorithm}," in header
    assert "nonce=" in header
    assert "opaque=" in header

    async with client(server, "users") as http:
        response = await http.get("users", params={"limit": 3})
    assert response.status_code == 200, response.text
    assert len(response.json()["items"]) == 3
    assert server.control.stats()["users"] == {
        "requests": 3,
        "challenges": 2,
        "ok": 1,
        "items": 3,
        "errors": 0,
        "faults": 0,
    }


async def test_wrong_password_is_rejected(sandbox: SandboxServer) -> None:
    username, _ = sandbox.credential("users")
    async with httpx.AsyncClient(base_url=sandbox.url, auth=httpx.DigestAuth(username, "not-it")) as http:
        response = await http.get("users")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Digest ")
    assert response.json()["error"] == "unauthorized"
    stats = sandbox.control.stats()["users"]
    assert (stats["requests"], stats["challenges"], stats["ok"]) == (2, 2, 0)


async def test_one_challenge_then_one_round_trip_per_request(sandbox: SandboxServer) -> None:
    async with client(sandbox, "reservations") as http:
        items = await walk(http, "reservations", resource_id=sandbox.resource_ids[0], limit=50)
        pages = -(-len(items) // 50)
        # Concurrent requests reuse the nonce with counts arriving out of order: still no new challenge.
        answers = await asyncio.gather(*(http.get("reservations", params={"limit": 1}) for _ in range(20)))
    assert {answer.status_code for answer in answers} == {200}
    stats = sandbox.control.stats()["reservations"]
    assert stats["challenges"] == 1
    assert stats["requests"] == 1 + pages + 20
    assert stats["ok"] == pages + 20


async def test_credentials_are_per_endpoint_family(sandbox: SandboxServer) -> None:
    resource = f"resources/{sandbox.resource_ids[0]}"
    async with client(sandbox, "users") as http:
        assert (await http.get("reservations")).status_code == 401
        assert (await http.get(resource)).status_code == 401
        assert (await http.get("users")).status_code == 200
    async with client(sandbox, "reservations") as http:
        assert (await http.get(resource)).status_code == 401
    async with client(sandbox, "availability") as http:  # the contract: resources take Availability's
        assert (await http.get(resource)).status_code == 200
        assert (
            await http.get("availability", params={"resource_id": sandbox.resource_ids[0], **window(sandbox)})
        ).is_success
        assert (await http.get("users")).status_code == 401


def _answer(server: SandboxServer, challenge: str, uri: str, nc: int) -> str:
    """An Authorization header computed here, independently of httpx."""
    fields = dict(part.strip().split("=", 1) for part in parse_http_list(challenge.removeprefix("Digest ")))
    nonce, opaque = fields["nonce"].strip('"'), fields["opaque"].strip('"')
    username, password = server.credential("users")

    def h(*parts: str) -> str:
        return hashlib.md5(":".join(parts).encode()).hexdigest()

    count, cnonce = f"{nc:08x}", "0a4f113b"
    response = h(h(username, "GESDENT", password), nonce, count, cnonce, "auth", h("GET", uri))
    return (
        f'Digest username="{username}", realm="GESDENT", nonce="{nonce}", uri="{uri}", '
        f'response="{response}", algorithm=MD5, qop=auth, nc={count}, cnonce="{cnonce}", opaque="{opaque}"'
    )


def test_replayed_nonce_count_and_foreign_uri_are_refused(sandbox: SandboxServer) -> None:
    with httpx.Client(base_url=sandbox.url) as http:
        challenge = http.get("users").headers["www-authenticate"]
        first = {"Authorization": _answer(sandbox, challenge, "/users?limit=1", 1)}
        assert http.get("users?limit=1", headers=first).status_code == 200
        assert http.get("users?limit=1", headers=first).status_code == 401  # replay
        second = {"Authorization": _answer(sandbox, challenge, "/users?limit=1", 2)}
        assert http.get("users?limit=1", headers=second).status_code == 200
        signed_elsewhere = {"Authorization": _answer(sandbox, challenge, "/users?limit=1", 3)}
        assert http.get("users?limit=2", headers=signed_elsewhere).status_code == 401


async def test_expired_nonce_is_challenged_as_stale(make_sandbox: MakeSandbox) -> None:
    server = make_sandbox(nonce_lifetime_seconds=0.3)
    challenges: list[str] = []

    async def record(response: httpx.Response) -> None:
        if response.status_code == 401:
            challenges.append(response.headers["www-authenticate"])

    async with client(server, "users", event_hooks={"response": [record]}) as http:
        assert (await http.get("users")).status_code == 200
        await asyncio.sleep(0.5)
        assert (await http.get("users")).status_code == 200
    assert len(challenges) == 2
    assert "stale=true" not in challenges[0]
    assert challenges[1].endswith("stale=true")


# --- Contract shape and parameters --------------------------------------------------------------


async def test_records_follow_the_contract(sandbox: SandboxServer) -> None:
    async with client(sandbox, "availability") as http:
        for resource_id in sandbox.resource_ids:
            resource = (await http.get(f"resources/{resource_id}")).json()
            assert set(resource) == {"id", "name", "kind", "active", "updated_at"}
            assert resource["id"] == resource_id
            assert resource["kind"] in RESOURCE_KINDS
            groups = resource_id.split("-")
            assert [len(g) for g in groups] == [8, 8, 8, 8, 4]
            assert resource_id.isupper()
        slots = (
            await http.get("availability", params={"resource_id": resource_id, **window(sandbox)})
        ).json()
    assert slots["slots"]
    assert {"start", "end", "treatment_codes"} == set(slots["slots"][0])
    assert all(1 <= len(s["treatment_codes"]) <= 3 for s in slots["slots"])
    assert all(s["start"].endswith("+01:00") for s in slots["slots"])
    async with client(sandbox, "users") as http:
        users = await walk(http, "users", limit=1000)
    assert len(users) == TEST_CONFIG.patients
    assert any(not u["first_name"].isascii() or not u["last_name"].isascii() for u in users)
    assert set(users[0]) == {
        "id",
        "first_name",
        "last_name",
        "phone",
        "email",
        "birth_date",
        "member_code",
        "updated_at",
        "deleted",
    }
    async with client(sandbox, "reservations") as http:
        reservations = await walk(http, "reservations", limit=1000)
    assert len(reservations) == TEST_CONFIG.reservations
    assert {r["treatment_code"] for r in reservations} == set(TREATMENT_CODES)
    assert {r["status"] for r in reservations} == set(RESERVATION_STATUSES)
    assert {r["resource_id"] for r in reservations} == set(sandbox.resource_ids)


async def test_paging_walks_every_item_once_in_order(sandbox: SandboxServer) -> None:
    async with client(sandbox, "users") as http:
        first = (await http.get("users")).json()
        users = await walk(http, "users", limit=7)
    assert len(first["items"]) == 100  # the default limit
    assert ordered(users)
    assert len({u["id"] for u in users}) == TEST_CONFIG.patients
    stamps = [u["updated_at"] for u in users]
    # Ties on updated_at cut across pages, so only the id can order them.
    assert any(stamps[i] == stamps[i + 1] for i in range(6, len(stamps) - 1, 7))

    async with client(sandbox, "reservations") as http:
        per_resource = [
            await walk(http, "reservations", resource_id=r, limit=33) for r in sandbox.resource_ids
        ]
    assert all(ordered(items) for items in per_resource)
    assert sum(len(items) for items in per_resource) == TEST_CONFIG.reservations
    assert all(
        r["resource_id"] == rid
        for rid, items in zip(sandbox.resource_ids, per_resource, strict=True)
        for r in items
    )


async def test_updated_since_is_inclusive(sandbox: SandboxServer) -> None:
    async with client(sandbox, "users") as http:
        users = await walk(http, "users", limit=1000)
        since = users[len(users) // 2]["updated_at"]
        expected = [u for u in users if u["updated_at"] >= since]
        assert await walk(http, "users", updated_since=since, limit=9) == expected
        # The same instant written with another offset; and one second later, which excludes it.
        instant = datetime.fromisoformat(since)
        madrid = instant.astimezone(timezone(timedelta(hours=1))).isoformat()
        assert await walk(http, "users", updated_since=madrid, limit=1000) == expected
        later = (instant + timedelta(seconds=1)).isoformat()
        assert await walk(http, "users", updated_since=later) == [
            u for u in expected if u["updated_at"] > since
        ]
        assert await walk(http, "users", updated_since="2100-01-01T00:00:00Z") == []


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("users", {"limit": "0"}, 400),
        ("users", {"limit": "1001"}, 400),
        ("users", {"limit": "ten"}, 400),
        ("users", {"updated_since": "yesterday"}, 400),
        ("users", {"updated_since": "2026-11-20"}, 400),
        ("users", {"updated_since": "2026-11-20T08:00:00"}, 400),
        ("users", {"cursor": "not-a-cursor"}, 400),
        ("reservations", {"resource_id": "lower-case"}, 400),
        ("reservations", {"resource_id": "AAAAAAAA-BBBBBBBB-CCCCCCCC-DDDDDDDD-EEEE"}, 404),
        ("availability", {"from": "2026-11-21", "to": "2026-11-28"}, 400),
        ("availability", {"resource_id": "{r}", "from": "2026-11-21"}, 400),
        ("availability", {"resource_id": "{r}", "from": "2026-11-28", "to": "2026-11-21"}, 400),
        ("availability", {"resource_id": "{r}", "from": "2026-01-01", "to": "2027-06-01"}, 400),
        ("availability", {"resource_id": "{r}", "from": "21/11/2026", "to": "2026-11-28"}, 400),
        ("resources/AAAAAAAA-BBBBBBBB-CCCCCCCC-DDDDDDDD-EEEE", {}, 404),
    ],
)
async def test_bad_parameters_are_json_errors(
    sandbox: SandboxServer, path: str, params: dict[str, str], status: int
) -> None:
    params = {k: v.replace("{r}", sandbox.resource_ids[0]) for k, v in params.items()}
    family: Endpoint = next((endpoint for endpoint in ENDPOINTS if endpoint == path), "resources")
    async with client(sandbox, family) as http:
        response = await http.get(path, params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]
    assert response.json()["message"]


async def test_booked_slots_are_not_free(sandbox: SandboxServer) -> None:
    resource_id = sandbox.resource_ids[0]
    async with client(sandbox, "reservations") as http:
        reservations = await walk(http, "reservations", resource_id=resource_id, limit=1000)
    async with client(sandbox, "availability") as http:
        answer = await http.get("availability", params={"resource_id": resource_id, **window(sandbox, 60)})
    free = {slot["start"] for slot in answer.json()["slots"]}
    held = {r["start"] for r in reservations if r["status"] == "booked"}
    cancelled = {
        r["start"]
        for r in reservations
        if r["status"] == "cancelled" and r["start"] >= window(sandbox)["from"]
    }
    assert held
    assert free
    assert not held & free
    assert cancelled & free  # a cancelled booking frees its slot (unless that slot is blocked)


async def test_path_prefix(make_sandbox: MakeSandbox) -> None:
    server = make_sandbox(path_prefix="gesdent/api")
    assert server.url.endswith("/gesdent/api/")
    async with client(server, "users") as http:
        assert (await http.get("users")).status_code == 200
        assert (await http.get(server.root + "users")).status_code == 404


async def test_the_procedures_own_resource_id_and_credential(make_sandbox: MakeSandbox) -> None:
    """`--resource-id` and `--credential` let a walk-through use the values the procedure gives."""
    procedure_id = "EJEJQKV5-ETREAXNR-IF4YDMXE-S4EEOH4W-3ES2"
    credentials = cli.credentials(["digest:wOPnLZytlYwv1pZA6Wse", "users=patients:p4ss"])
    assert credentials == {
        "users": Credential("patients", "p4ss"),
        "reservations": Credential("digest", "wOPnLZytlYwv1pZA6Wse"),
        "availability": Credential("digest", "wOPnLZytlYwv1pZA6Wse"),
    }
    for wrong in (["nobody"], ["doctors=a:b"], ["users=:x"]):
        with pytest.raises(ValueError, match="--credential"):
            cli.credentials(wrong)
    server = make_sandbox(resource_id_overrides=(procedure_id,), credential_overrides=credentials)
    assert server.resource_ids[0] == procedure_id
    async with client(server, "resources") as http:
        response = await http.get(f"resources/{procedure_id}")
    assert response.status_code == 200
    assert response.json()["id"] == procedure_id
    assert server.credentials["availability"] == Credential("digest", "wOPnLZytlYwv1pZA6Wse")
    with pytest.raises(ValueError, match="not a resource ID"):
        TEST_CONFIG.model_validate({**TEST_CONFIG.model_dump(), "resource_id_overrides": ("lower-case",)})
