"""The signed GESDENT change notification: signatures, timestamps, replays (per instance: one
partner's webhook-ids never pre-empt another's), the streams it names and its database name."""

import json
import time

import pytest

from app.domain.webhooks import sign
from tests.conftest import assert_problem, configure_gesdent

URL = "/v1/webhooks/gesdent"


def _signed(secret, body, *, webhook_id="msg_1", at=None):
    timestamp = str(int(time.time() if at is None else at))
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": sign(secret, webhook_id, timestamp, body),
        "content-type": "application/json",
    }


def _notification(db_name):
    return json.dumps({"type": "data.changed", "db_name": db_name}).encode()


async def test_another_tenants_webhook_id_does_not_preempt_a_delivery(api, other, anon):
    secret_a = await configure_gesdent(api, "tt_a")
    secret_b = await configure_gesdent(other, "tt_b")
    body_a, body_b = _notification("tt_a"), _notification("tt_b")
    # Partner B learns (or guesses) the id of A's next delivery and uses it first, on its own instance.
    first = await anon.post(URL, content=body_b, headers=_signed(secret_b, body_b, webhook_id="msg_X"))
    assert first.status_code == 202, first.text
    assert first.json()["status"] == "queued", first.text
    genuine = await anon.post(URL, content=body_a, headers=_signed(secret_a, body_a, webhook_id="msg_X"))
    assert genuine.status_code == 202, genuine.text
    assert genuine.json()["status"] == "queued"
    assert genuine.json()["run"]["instance"] == "tt_a"
    # Within one instance, a replay is still acknowledged and ignored.
    for secret, body in ((secret_a, body_a), (secret_b, body_b)):
        replay = await anon.post(URL, content=body, headers=_signed(secret, body, webhook_id="msg_X"))
        assert replay.status_code == 200
        assert replay.json() == {"status": "duplicate", "run": None}
    assert [r["trigger"] for r in (await api.get("/v1/instances/tt_a/sync-runs")).json()["items"]] == [
        "webhook"
    ]


async def test_webhook_signature_timestamp_and_replay(api, anon):
    secret = await configure_gesdent(api)
    body = json.dumps({"type": "data.changed", "db_name": "tt_c", "streams": ["reservations"]}).encode()
    url = "/v1/webhooks/gesdent"
    ok = await anon.post(url, content=body, headers=_signed(secret, body))
    assert ok.status_code == 202, ok.text
    assert ok.json()["status"] == "queued"
    assert (ok.json()["run"]["trigger"], ok.json()["run"]["streams"]) == ("webhook", ["reservations"])
    replay = await anon.post(url, content=body, headers=_signed(secret, body))
    assert replay.status_code == 200
    assert replay.json() == {"status": "duplicate", "run": None}
    again = await anon.post(url, content=body, headers=_signed(secret, body, webhook_id="msg_2"))
    assert again.status_code == 200
    assert again.json()["status"] == "already_active"
    # Refused, all alike: a wrong secret, a tampered body, a stale or future timestamp, an unknown db.
    wrong = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="
    tampered = body.replace(b"reservations", b"availability")
    cases = [
        _signed(wrong, body, webhook_id="m3"),
        {**_signed(secret, body, webhook_id="m4")},
        _signed(secret, body, webhook_id="m5", at=time.time() - 360),
        _signed(secret, body, webhook_id="m6", at=time.time() + 360),
    ]
    for index, headers in enumerate(cases):
        content = tampered if index == 1 else body
        assert_problem(await anon.post(url, content=content, headers=headers), 401, "invalid-signature")
    unknown = json.dumps({"type": "data.changed", "db_name": "tt_nope"}).encode()
    assert_problem(
        await anon.post(url, content=unknown, headers=_signed(secret, unknown)), 401, "invalid-signature"
    )
    missing = await anon.post(url, content=body, headers={"content-type": "application/json"})
    assert_problem(missing, 422, "validation-error")
    junk = b'{"type": "other"}'
    assert_problem(
        await anon.post(url, content=junk, headers=_signed(secret, junk, webhook_id="m7")),
        422,
        "validation-error",
    )


@pytest.mark.parametrize(
    ("named", "streams"),
    [
        (["availability", "patients"], ["users", "availability"]),  # `patients` is the users stream
        ([], ["resources", "users", "reservations", "availability"]),  # none named: all of them
    ],
)
async def test_a_webhook_runs_the_streams_it_names_in_import_order(api, anon, named, streams):
    secret = await configure_gesdent(api)
    body = json.dumps({"type": "data.changed", "db_name": "tt_c", "streams": named}).encode()
    answer = await anon.post("/v1/webhooks/gesdent", content=body, headers=_signed(secret, body))
    assert answer.status_code == 202, answer.text
    assert answer.json()["run"]["streams"] == streams


async def test_webhook_names_the_database_with_or_without_tt(api, anon):
    secret = await configure_gesdent(api)
    body = json.dumps(
        {"type": "data.changed", "db_name": "c"}
    ).encode()  # tt_c, as the procedure may write it
    answer = await anon.post("/v1/webhooks/gesdent", content=body, headers=_signed(secret, body))
    assert answer.status_code == 202, answer.text
    assert answer.json()["run"]["instance"] == "tt_c"
    near = json.dumps({"type": "data.changed", "db_name": "TT-C"}).encode()
    refused = await anon.post(
        "/v1/webhooks/gesdent", content=near, headers=_signed(secret, near, webhook_id="m2")
    )
    assert "did you mean 'tt_c'" in assert_problem(refused, 422, "validation-error")["detail"]
