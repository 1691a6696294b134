"""After a bulk write of services, PostgreSQL's statistics of the table are current within the same
transaction, so that the plans connections keep (the foreign key checks at commit among them) are
made again for the table's real size: a plan kept from when the table was small read every service
of an instance for each one deleted, and the teardown of a 50,000-service import took 6 minutes."""

import pytest
from sqlalchemy import text

from tests.api.test_services_csv_limits import CSV, IMPORT, _csv
from tests.conftest import create_instance


async def _estimated_rows(app) -> float:
    async with app.state.engine.connect() as connection:
        found = await connection.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'services'"))
    return float(found)


@pytest.fixture
def postgres(backend):
    if backend != "postgres":
        pytest.skip("PostgreSQL's kept plans; SQLite plans each statement afresh")


@pytest.mark.usefixtures("postgres")
async def test_a_large_import_refreshes_the_statistics(app, api):
    await create_instance(api, "tt_c")

    response = await api.post(IMPORT, content=_csv(1_234), headers=CSV)

    assert response.status_code == 200, response.text
    # Before: whatever an earlier ANALYZE had seen (often -1, never analyzed), however many rows now.
    assert abs(await _estimated_rows(app) - 1_234) < 50


@pytest.mark.usefixtures("postgres")
async def test_a_large_clone_refreshes_them_too(app, api):
    await create_instance(api, "tt_c")
    assert (await api.post(IMPORT, content=_csv(1_100), headers=CSV)).status_code == 200

    cloned = await api.post("/v1/instances/tt_c/clone", json={"name": "tt_copy", "include": ["services"]})

    assert cloned.status_code == 201, cloned.text
    assert abs(await _estimated_rows(app) - 2_200) < 100
