"""Webhook replay records are per instance: one partner's webhook-ids never pre-empt another's."""

import json

from tests.sync.test_runs_api import _configured, _signed

URL = "/v1/webhooks/gesdent"


def _notification(db_name):
    return json.dumps({"type": "data.changed", "db_name": db_name}).encode()


async def test_another_tenants_webhook_id_does_not_preempt_a_delivery(api, other, anon):
    secret_a = await _configured(api, "tt_a")
    secret_b = await _configured(other, "tt_b")
    body_a, body_b = _notification("tt_a"), _notification("tt_b")
    # Partner B learns (or guesses) the id of A's next delivery and uses it first, on its own instance.
    first = await anon.post(URL, content=body_b, headers=_signed(secret_b, body_b, webhook_id="msg_X"))
    assert first.status_code == 202 and first.json()["status"] == "queued", first.text
    genuine = await anon.post(URL, content=body_a, headers=_signed(secret_a, body_a, webhook_id="msg_X"))
    assert genuine.status_code == 202, genuine.text
    assert genuine.json()["status"] == "queued"
    assert genuine.json()["run"]["instance"] == "tt_a"
    # Within one instance, a replay is still acknowledged and ignored.
    for secret, body in ((secret_a, body_a), (secret_b, body_b)):
        replay = await anon.post(URL, content=body, headers=_signed(secret, body, webhook_id="msg_X"))
        assert replay.status_code == 200 and replay.json() == {"status": "duplicate", "run": None}
    assert [r["trigger"] for r in (await api.get("/v1/instances/tt_a/sync-runs")).json()["items"]] == [
        "webhook"
    ]
