async def test_healthz_needs_no_key(anon):
    response = await anon.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_the_database(anon):
    response = await anon.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_openapi_and_docs_need_no_key(anon):
    assert (await anon.get("/openapi.json")).status_code == 200
    assert (await anon.get("/docs")).status_code == 200


async def test_unknown_route_is_a_problem(anon):
    response = await anon.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "/problems/not-found"
