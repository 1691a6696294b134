"""/v1/instances/{name}/gesdent: connection rules, secrets write-only and encrypted at rest."""

from sqlalchemy import text

from app.domain.addresses import forbidden_address
from tests.conftest import assert_problem, create_instance

URL = "/v1/instances/tt_c/gesdent"
RULES = {
    "base_url": "https://gesdent.example.org/api",
    "resource_ids": [" ejejqkv5-etreaxnr-if4ydmxe-s4eeoh4w-3es2 ", "AAAA1111-BBBB2222"],
    "credentials": {
        "users": "digest:wOPnLZytlYwv1pZA6Wse",
        "reservations": {"username": "res", "password": "r-secret-1"},
        "availability": {"username": "av", "password": "a-secret-2"},
    },
    "interval_minutes": 10,
    "window_days": 21,
}
PASSWORDS = ["wOPnLZytlYwv1pZA6Wse", "r-secret-1", "a-secret-2"]


async def test_put_get_delete(api, app):
    await create_instance(api, "tt_c")
    created = await api.put(URL, json=RULES)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["base_url"] == "https://gesdent.example.org/api/"
    assert body["resource_ids"] == ["EJEJQKV5-ETREAXNR-IF4YDMXE-S4EEOH4W-3ES2", "AAAA1111-BBBB2222"]
    assert body["credentials"] == {
        "users": {"username": "digest", "password_set": True},
        "reservations": {"username": "res", "password_set": True},
        "availability": {"username": "av", "password_set": True},
    }
    assert (body["enabled"], body["interval_minutes"], body["window_days"]) == (True, 10, 21)
    secret = body["webhook_secret"]
    assert secret.startswith("whsec_")
    assert created.headers["cache-control"] == "no-store"
    got = await api.get(URL)
    assert got.json()["webhook_secret"] is None
    assert got.json()["webhook_secret_set"] is True
    for response in (created, got):
        for password in PASSWORDS:
            assert password not in response.text
    # At rest: encrypted, never in clear.
    async with app.state.engine.connect() as connection:
        row = (await connection.execute(text("SELECT * FROM gesdent_connections"))).mappings().one()
    stored = " ".join(str(v) for v in row.values())
    for plain in [*PASSWORDS, secret]:
        assert plain not in stored
    assert app.state.secret_box.decrypt(row["users_password"]) == "wOPnLZytlYwv1pZA6Wse"
    assert (await api.delete(URL)).status_code == 204
    assert_problem(await api.get(URL), 404, "not-found")


async def test_update_keeps_omitted_passwords_and_the_secret(api, app):
    await create_instance(api, "tt_c")
    first = (await api.put(URL, json=RULES)).json()
    update = {
        **RULES,
        "credentials": {
            "users": {"username": "digest2"},
            "reservations": {"username": "res"},
            "availability": "av:new-pass",
        },
        "enabled": False,
    }
    response = await api.put(URL, json=update)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["credentials"]["users"] == {"username": "digest2", "password_set": True}
    assert body["enabled"] is False
    assert body["webhook_secret"] is None
    assert body["version"] == 2
    async with app.state.engine.connect() as connection:
        row = (await connection.execute(text("SELECT * FROM gesdent_connections"))).mappings().one()
    box = app.state.secret_box
    assert box.decrypt(row["users_password"]) == "wOPnLZytlYwv1pZA6Wse"
    assert box.decrypt(row["availability_password"]) == "new-pass"
    rotated = await api.put(URL, json={**update, "rotate_webhook_secret": True})
    assert rotated.json()["webhook_secret"].startswith("whsec_")
    assert rotated.json()["webhook_secret"] != first["webhook_secret"]


async def test_invalid_rules_list_every_problem(api):
    await create_instance(api, "tt_c")
    bad = {
        **RULES,
        "base_url": "ftp://user:pw@host/x?y=1",
        "resource_ids": ["not an id", "lower-ok"],
        "credentials": {"users": "no-colon", "reservations": {"username": "r"}, "availability": "a:b"},
    }
    body = assert_problem(await api.put(URL, json=bad), 422, "validation-error")
    assert {e["field"] for e in body["errors"]} >= {"body.credentials.users"}
    bad["credentials"] = {"users": "u:p", "reservations": {"username": "r"}, "availability": "a:b"}
    body = assert_problem(await api.put(URL, json=bad), 422, "validation-error")
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"body.resource_ids", "body.base_url", "body.credentials.reservations.password"}
    empty = await api.put(URL, json={**RULES, "resource_ids": []})
    assert_problem(empty, 422, "validation-error")
    assert_problem(await api.get(URL), 404, "not-found")
    extras: list[dict[str, object]] = [
        {"interval_minutes": 0},
        {"window_days": 1000},
        {"enabled": "yes"},
        {"colour": 1},
    ]
    for extra in extras:
        assert_problem(await api.put(URL, json={**RULES, **extra}), 422, "validation-error")


async def test_if_match(api):
    await create_instance(api, "tt_c")
    etag = (await api.put(URL, json=RULES)).headers["etag"]
    assert (await api.put(URL, json=RULES, headers={"If-Match": etag})).status_code == 200
    assert_problem(await api.put(URL, json=RULES, headers={"If-Match": etag}), 412, "precondition-failed")
    assert_problem(await api.delete(URL, headers={"If-Match": etag}), 412, "precondition-failed")


async def test_private_networks_are_refused_by_default(make_client, app):
    for address in [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.10",
        "172.16.5.4",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
    ]:
        assert forbidden_address(address), address
    assert forbidden_address("93.184.216.34") is None
    settings = app.state.settings
    settings.gesdent_allow_private_networks = False
    try:
        api = await make_client()
        await create_instance(api, "tt_c")
        for url in ["http://127.0.0.1:8900/", "http://localhost/api/", "http://[::1]/", "http://10.0.0.8/"]:
            body = assert_problem(
                await api.put(URL, json={**RULES, "base_url": url}), 422, "validation-error"
            )
            assert "PORTICO_GESDENT_ALLOW_PRIVATE_NETWORKS" in body["detail"] or "resolve" in body["detail"]
    finally:
        settings.gesdent_allow_private_networks = True


async def test_clone_copies_rules_without_resources_and_passwords_unless_asked(api, app):
    await create_instance(api, "tt_c")
    await api.put(URL, json=RULES)
    plain = await api.post("/v1/instances/tt_c/clone", json={"name": "tt_plain"})
    assert plain.json()["copied"]["gesdent"] is False
    assert_problem(await api.get("/v1/instances/tt_plain/gesdent"), 404, "not-found")
    bare = await api.post("/v1/instances/tt_c/clone", json={"name": "tt_bare", "include": ["gesdent"]})
    assert bare.status_code == 201, bare.text
    assert (bare.json()["copied"]["gesdent"], bare.json()["copied"]["gesdent_credentials"]) == (True, False)
    rules = (await api.get("/v1/instances/tt_bare/gesdent")).json()
    assert rules["resource_ids"] == []
    assert rules["enabled"] is False
    assert rules["credentials"]["users"] == {"username": "digest", "password_set": False}
    assert (rules["interval_minutes"], rules["base_url"]) == (10, "https://gesdent.example.org/api/")
    body = assert_problem(await api.post("/v1/instances/tt_bare/sync-runs"), 409, "gesdent-not-configured")
    assert body["missing"] == [
        "resource_ids",
        "users password",
        "reservations password",
        "availability password",
    ]
    # Completing it needs the passwords, since none is stored.
    keep = {
        "users": {"username": "digest"},
        "reservations": {"username": "res"},
        "availability": {"username": "av"},
    }
    incomplete = await api.put("/v1/instances/tt_bare/gesdent", json={**RULES, "credentials": keep})
    assert len(assert_problem(incomplete, 422, "validation-error")["errors"]) == 3
    full = await api.post(
        "/v1/instances/tt_c/clone", json={"name": "tt_full", "include": ["gesdent_credentials"]}
    )
    assert full.json()["copied"]["gesdent_credentials"] is True
    creds = (await api.get("/v1/instances/tt_full/gesdent")).json()["credentials"]
    assert all(c["password_set"] for c in creds.values())
    completed = await api.put("/v1/instances/tt_full/gesdent", json={**RULES, "credentials": keep})
    assert completed.status_code == 200, completed.text
    assert (await api.post("/v1/instances/tt_full/sync-runs")).status_code == 202


async def test_completing_cloned_rules_issues_their_webhook_secret(api):
    await create_instance(api, "tt_c")
    await api.put(URL, json=RULES)
    await api.post("/v1/instances/tt_c/clone", json={"name": "tt_copy", "include": ["gesdent_credentials"]})
    assert (await api.get("/v1/instances/tt_copy/gesdent")).json()["webhook_secret_set"] is False
    completed = await api.put("/v1/instances/tt_copy/gesdent", json=RULES)
    assert completed.json()["webhook_secret"].startswith("whsec_")
    again = await api.put("/v1/instances/tt_copy/gesdent", json=RULES)
    assert again.json()["webhook_secret"] is None


async def test_pasted_credentials_lose_the_whitespace_around_them(api, app):
    """The procedure writes `digest: wOPn…`; pasted as it is, the space is not part of the password."""
    await create_instance(api, "tt_c")
    pasted = {
        "users": "digest: wOPnLZytlYwv1pZA6Wse",
        "reservations": "  res :\tr-secret-1  ",
        "availability": {"username": " av ", "password": " a-secret-2 "},  # the object form: as given
    }
    response = await api.put(URL, json={**RULES, "credentials": pasted})
    assert response.status_code == 201, response.text
    credentials = response.json()["credentials"]
    assert credentials["users"]["username"] == "digest"
    assert credentials["reservations"]["username"] == "res"
    assert credentials["availability"]["username"] == " av "
    async with app.state.engine.connect() as connection:
        row = (await connection.execute(text("SELECT * FROM gesdent_connections"))).mappings().one()
    box = app.state.secret_box
    assert box.decrypt(row["users_password"]) == "wOPnLZytlYwv1pZA6Wse"
    assert box.decrypt(row["reservations_password"]) == "r-secret-1"
    assert box.decrypt(row["availability_password"]) == " a-secret-2 "
    for blank in (" : pw", "   :pw"):
        body = assert_problem(
            await api.put(URL, json={**RULES, "credentials": {**pasted, "users": blank}}),
            422,
            "validation-error",
        )
        assert body["errors"][0]["field"] == "body.credentials.users"


async def test_resource_ids_pasted_as_one_string(api):
    await create_instance(api, "tt_c")
    pasted = (
        "EJEJQKV5-ETREAXNR-IF4YDMXE-S4EEOH4W-3ES2, aaaa1111-bbbb2222\n"
        "CCCC-DDDD;  EJEJQKV5-ETREAXNR-IF4YDMXE-S4EEOH4W-3ES2\r\n"
    )
    response = await api.put(URL, json={**RULES, "resource_ids": pasted})
    assert response.status_code == 201, response.text
    assert response.json()["resource_ids"] == [
        "EJEJQKV5-ETREAXNR-IF4YDMXE-S4EEOH4W-3ES2",
        "AAAA1111-BBBB2222",
        "CCCC-DDDD",
    ]
    bad_ones = ((" ,\n ", "at least one"), ("CCCC-DDDD, not-an id", "'id' is not a GESDENT resource ID"))
    for bad, message in bad_ones:
        body = assert_problem(
            await api.put(URL, json={**RULES, "resource_ids": bad}), 422, "validation-error"
        )
        assert body["errors"][0]["field"] == "body.resource_ids"
        assert message in body["detail"], body
    assert (await api.get(URL)).json()["resource_ids"][2] == "CCCC-DDDD"  # nothing lost


async def test_base_url_may_come_from_the_deployment(api, app):
    await create_instance(api, "tt_c")
    own = {key: value for key, value in RULES.items() if key != "base_url"}
    response = await api.put(URL, json=own)
    assert response.status_code == 201, response.text
    shown = response.json()
    assert (shown["base_url"], shown["effective_base_url"], shown["base_url_source"]) == (None, None, None)
    body = assert_problem(await api.post("/v1/instances/tt_c/sync-runs"), 409, "gesdent-not-configured")
    assert body["missing"] == ["base_url"]
    assert "PORTICO_GESDENT_BASE_URL" in body["detail"]
    settings = app.state.settings
    settings.gesdent_base_url = "https://gesdent.example.org/central/"
    try:
        shown = (await api.get(URL)).json()
        assert shown["base_url"] is None
        assert shown["effective_base_url"] == "https://gesdent.example.org/central/"
        assert shown["base_url_source"] == "deployment"
        assert (await api.post("/v1/instances/tt_c/sync-runs")).status_code == 202
        overridden = (await api.put(URL, json=RULES)).json()  # the instance's own wins
        assert (
            overridden["effective_base_url"] == overridden["base_url"] == "https://gesdent.example.org/api/"
        )
        assert overridden["base_url_source"] == "instance"
        again = (await api.put(URL, json={**own, "base_url": None})).json()
        assert (again["base_url"], again["base_url_source"]) == (None, "deployment")
    finally:
        settings.gesdent_base_url = None
