"""DELETE /v1/api-keys/{key_id}: who may revoke which key."""

import httpx

from tests.conftest import ALL_SCOPES, assert_problem


async def _key(admin, partner_id, scopes=None):
    body = {"name": "key"} if scopes is None else {"name": "key", "scopes": scopes}
    response = await admin.post(f"/v1/partners/{partner_id}/api-keys", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _as(client, key):
    return httpx.AsyncClient(
        transport=client._transport, base_url=client.base_url, headers={"Authorization": f"Bearer {key}"}
    )


async def test_new_keys_do_not_get_keys_write_unless_asked(admin, api):
    default = await _key(admin, api.partner_id)
    assert "keys:write" not in default["scopes"]
    assert "patients:read" not in default["scopes"]
    assert (await _key(admin, api.partner_id, ["keys:write"]))["scopes"] == ["keys:write"]


async def test_a_key_without_keys_write_cannot_revoke_a_sibling(admin, api):
    """The finding: a `patients:read` key revoked a full-scope key of its partner."""
    target = await _key(admin, api.partner_id, [*ALL_SCOPES, "keys:write"])
    for scopes in (["patients:read"], None, ALL_SCOPES):  # None: the default scopes
        weak = await _key(admin, api.partner_id, scopes)
        async with _as(api, weak["key"]) as client:
            body = assert_problem(await client.delete(f"/v1/api-keys/{target['id']}"), 403, "missing-scope")
        assert body["required_scope"] == "keys:write"
    async with _as(api, target["key"]) as client:
        assert (await client.get("/v1/instances")).status_code == 200


async def test_a_key_may_always_revoke_itself(admin, api):
    own = await _key(admin, api.partner_id, ["patients:read"])
    sibling = await _key(admin, api.partner_id, ["patients:read"])
    async with _as(api, own["key"]) as client:
        assert_problem(await client.delete(f"/v1/api-keys/{sibling['id']}"), 403, "missing-scope")
        revoked = await client.delete(f"/v1/api-keys/{own['id']}")
        assert revoked.status_code == 200
        assert revoked.json()["revoked_at"] is not None
        assert_problem(await client.get("/v1/instances"), 401, "unauthorized")


async def test_keys_write_revokes_the_partners_other_keys_only(admin, api, other):
    manager = await _key(admin, api.partner_id, ["keys:write"])
    sibling = await _key(admin, api.partner_id)
    foreign = await _key(admin, other.partner_id)
    async with _as(api, manager["key"]) as client:
        assert (await client.delete(f"/v1/api-keys/{sibling['id']}")).status_code == 200
        # Another partner's key does not exist for this one: 404, not 403.
        assert_problem(await client.delete(f"/v1/api-keys/{foreign['id']}"), 404, "not-found")
        # keys:write revokes keys, it does not open the other routes.
        assert_problem(await client.get("/v1/instances"), 403, "missing-scope")
    async with _as(api, sibling["key"]) as client:
        assert_problem(await client.get("/v1/instances"), 401, "unauthorized")
    async with _as(other, foreign["key"]) as client:
        assert (await client.get("/v1/instances")).status_code == 200


async def test_the_master_key_revokes_any_key(admin, api, other):
    for client in (api, other):
        for scopes in (["patients:read"], ["keys:write"]):
            key = await _key(admin, client.partner_id, scopes)
            revoked = await admin.delete(f"/v1/api-keys/{key['id']}")
            assert revoked.status_code == 200
            assert revoked.json()["revoked_at"] is not None
