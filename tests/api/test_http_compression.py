"""gzip for answers of 1 KiB and more when Accept-Encoding allows it, with Vary: Accept-Encoding and a
weak ETag on a compressed answer (its bytes differ from the uncompressed answer's)."""

import pytest

from tests.conftest import add_member, create_instance, create_portal

LONG_NAME = "Clínica dental con un nombre bastante largo para la prueba"


async def _many_instances(api, count=12):
    for number in range(count):
        await create_instance(api, f"tt_clinic_{number:02}", display_name=f"{LONG_NAME} {number}")


def _vary(response):
    return [item.strip().lower() for item in response.headers.get("vary", "").split(",")]


async def test_a_large_list_is_gzipped_for_a_client_that_accepts_it(api):
    await _many_instances(api)
    response = await api.get("/v1/instances", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in _vary(response)
    assert int(response.headers["content-length"]) < len(response.content)  # httpx decoded it
    assert len(response.json()["items"]) == 12
    # A small answer is not worth it.
    small = await api.get("/v1/instances/tt_clinic_00", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers
    assert not small.headers["etag"].startswith("W/")


@pytest.mark.parametrize("accept_encoding", ["identity", "gzip;q=0", "br;q=1, gzip;q=0.0", "*;q=0"])
async def test_not_gzipped_unless_accepted(api, accept_encoding):
    await _many_instances(api)
    response = await api.get("/v1/instances", headers={"Accept-Encoding": accept_encoding})
    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert int(response.headers["content-length"]) == len(response.content) > 1024
    # A cache must not give this answer to a client that accepts gzip, nor the other way round.
    assert "accept-encoding" in _vary(response)


async def test_a_wildcard_accepts_gzip(api):
    await _many_instances(api)
    response = await api.get("/v1/instances", headers={"Accept-Encoding": "*"})
    assert response.headers["content-encoding"] == "gzip"


async def test_a_gzipped_answer_has_a_weak_etag_that_still_validates(api):
    await create_portal(api, "tt_portal")
    for number in range(8):
        await add_member(api, "tt_portal", f"tt_member_with_a_long_name_{number:02}")
    path = "/v1/portals/tt_portal/report"
    plain = await api.get(path, headers={"Accept-Encoding": "identity"})
    gzipped = await api.get(path, headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["content-encoding"] == "gzip"
    assert not plain.headers["etag"].startswith("W/")
    assert gzipped.headers["etag"] == f"W/{plain.headers['etag']}"
    assert gzipped.json() == plain.json()
    for accept_encoding in ("gzip", "identity"):
        for etag in (plain.headers["etag"], gzipped.headers["etag"]):
            response = await api.get(
                path, headers={"Accept-Encoding": accept_encoding, "If-None-Match": etag}
            )
            assert response.status_code == 304, (accept_encoding, etag)
            assert response.content == b""
