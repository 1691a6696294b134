"""Every problem's `type` URI answers what the problem means and how to fix it: JSON for a script, a
page for a browser."""

import pytest

from app.problem_schemas import problem_types
from tests.conftest import assert_problem, create_instance

SLUGS = [kind.slug for kind in problem_types()]


async def test_the_type_of_a_problem_answers_its_description(api):
    await create_instance(api, "tt_clinic_north")
    problem = assert_problem(await api.get("/v1/instances/tt_clinic_nort"), 404, "not-found")

    response = await api.get(problem["type"])

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert "accept" in response.headers["vary"].lower()
    described = response.json()
    assert described["type"] == problem["type"]
    assert described["title"] == problem["title"]
    assert described["status"] == 404
    assert described["schema_name"] == "NotFoundProblem"
    assert {m["name"] for m in described["members"]} >= {"instance", "suggestions"}
    assert described["fix"]


@pytest.mark.parametrize("slug", SLUGS)
async def test_every_problem_type_has_a_page_for_people(anon, slug):
    response = await anon.get(f"/problems/{slug}", headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "How to fix it" in response.text
    assert f"<code>/problems/{slug}</code>" in response.text


async def test_the_list_names_every_type_and_an_unknown_one_is_a_404(anon):
    listed = await anon.get("/problems")
    assert listed.status_code == 200
    assert [entry["type"] for entry in listed.json()] == [f"/problems/{slug}" for slug in SLUGS]
    page = await anon.get("/problems", headers={"Accept": "text/html"})
    assert all(f'href="/problems/{slug}"' in page.text for slug in SLUGS)

    assert_problem(await anon.get("/problems/no-such-problem"), 404, "not-found")
    assert_problem(await anon.get("/problems/Not_A_Slug"), 422, "validation-error")
