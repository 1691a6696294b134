"""The procedure through a Python client that openapi-python-client generates from the committed
spec, against a live `portico serve` on loopback (SQLite, then PostgreSQL): a portal and its
members, services imported from CSV, a clone, mappings, a 409 read as a problem of its own type, the
report as JSON and as CSV, pages followed through `next_cursor`, timestamps as datetimes. The
generator must not warn.

The tests below run in order on one server per backend, each step on what the steps before it made.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import MASTER_KEY, SECRET_KEY, fresh_database
from tests.processes import clean_env, free_port, portico_command, running, wait_ready
from tests.sdk.conftest import SPEC, spec_with
from tests.sdk.generated_python import Generated, complaints, generate, imported

PORTAL, NORTH, SOUTH, WEST = "tt_sdk_portal", "tt_sdk_north", "tt_sdk_south", "tt_sdk_west"
PORTAL_CSV = """\
code,name,duration_minutes,price,web_enabled
LIMP,Limpieza dental,30,45.00,true
REV,Revisión,20,,true
BLANQ,Blanqueamiento,60,250.00,true
ORTO,Primera visita de ortodoncia,45,0.00,true
"""
NORTH_CSV = """\
code,name,duration_minutes,price,web_enabled
LIMPIEZA,Limpieza,30,40.00,true
REVISION,Revision general,20,,true
IMPLANTE,Implante,90,900.00,true
"""
IMPORT_PATH = f"/v1/instances/{PORTAL}/services/import"

# Whether the committed spec declares the import's text/csv body as bytes (see that step).
_SPEC: dict[str, Any] = json.loads(SPEC.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------------------
# The generated client


@pytest.fixture(scope="module")
def generation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[str], Generated]]:
    """The generator's complaints about the committed spec, and the client it generated."""
    folder = tmp_path_factory.mktemp("python-client")
    ran = generate(SPEC, folder)
    assert ran.returncode == 0, ran.explain()
    with imported(folder) as generated:
        yield complaints(ran), generated


@pytest.fixture(scope="module")
def sdk(generation: tuple[list[str], Generated]) -> Generated:
    return generation[1]


def test_the_generator_warns_about_nothing(generation: tuple[list[str], Generated]) -> None:
    said, _ = generation
    assert not said, "openapi-python-client warns about openapi/openapi.json:\n" + "\n".join(said)


def test_a_spec_the_generator_cannot_read_fails_the_check_above(tmp_path: Path) -> None:
    """The check can fail: a body of a type the generator lacks is a warning that it sees."""

    def xml_body(spec: dict[str, Any]) -> None:
        body = spec["paths"]["/v1/instances/{name}/settings"]["patch"]["requestBody"]
        body["content"] = {"application/xml": body["content"]["application/merge-patch+json"]}

    ran = generate(spec_with(tmp_path, xml_body), tmp_path)
    said = complaints(ran)
    assert any("Unsupported content type application/xml" in line for line in said), ran.explain()


# --------------------------------------------------------------------------------------------------
# The live server and the procedure's state


@dataclass
class Procedure:
    """A partner's generated client on a live server, and what the steps leave for the next ones."""

    client: Any  # the generated AuthenticatedClient, holding the partner's key
    sent: list[httpx.Request] = field(default_factory=list)  # every request the client sent


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
async def live_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """`portico serve` on a free loopback port and a fresh database of the backend."""
    async with fresh_database(request.param) as database_url:
        folder = tmp_path_factory.mktemp(f"sdk-{request.param}")
        port = free_port()
        env = clean_env(
            database_url=database_url, master_key=MASTER_KEY, secret_keys=SECRET_KEY, scheduler="false"
        )
        command = portico_command("serve", "--host", "127.0.0.1", "--port", str(port))
        with running(
            "portico serve", command, folder / "serve.log", env=env, cwd=folder, stop_seconds=15
        ) as process:
            await asyncio.to_thread(wait_ready, f"http://127.0.0.1:{port}/readyz", process, 30)
            yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def procedure(sdk: Generated, live_url: str) -> Iterator[Procedure]:
    """A partner and its key, made with the master key through the generated client."""
    authenticated = sdk.client.AuthenticatedClient
    with authenticated(base_url=live_url, token=MASTER_KEY) as master:
        partner = sdk.op("partners_create").sync_detailed(
            client=master, body=sdk.models.PartnerCreate(name="SDK integrator")
        )
        assert partner.status_code == 201, partner.content
        created = sdk.op("api_keys_create").sync_detailed(
            partner.parsed.id, client=master, body=sdk.models.ApiKeyCreate(name="sdk")
        )
        assert created.status_code == 201, created.content
    sent: list[httpx.Request] = []
    hooks = {"event_hooks": {"request": [sent.append]}}
    with authenticated(base_url=live_url, token=created.parsed.key, httpx_args=hooks) as client:
        yield Procedure(client, sent)


def _ok(response: Any, status: int = 200) -> Any:
    """The parsed answer of a generated `sync_detailed`, which must have `status`."""
    assert response.status_code == status, f"{response.status_code} {response.content!r}"
    return response.parsed


# --------------------------------------------------------------------------------------------------
# The procedure


def test_instances_created(sdk: Generated, procedure: Procedure) -> None:
    create = sdk.op("instances_create").sync_detailed
    for name, display_name in [
        (PORTAL, "SDK portal"),
        (NORTH, "Clinic North"),
        ("sdk_south", "Clinic South"),
    ]:
        body = sdk.models.InstanceCreate(name=name, display_name=display_name)
        instance = _ok(create(client=procedure.client, body=body), 201)
        assert isinstance(instance, sdk.models.InstancePublic)
        assert instance.name == (name if name.startswith("tt_") else f"tt_{name}")
        assert instance.kind == sdk.models.InstanceKind.STANDALONE
        assert instance.portal is None


def test_the_setting_portal_instance_name_makes_a_portal(sdk: Generated, procedure: Procedure) -> None:
    body = sdk.models.SettingPut(value="portal")
    setting = _ok(
        sdk.op("settings_put").sync_detailed(
            PORTAL, "portalInstanceName", client=procedure.client, body=body
        ),
        201,
    )
    assert (setting.key, setting.value) == ("portalInstanceName", "portal")
    portal = _ok(sdk.op("portals_get").sync_detailed(PORTAL, client=procedure.client))
    assert isinstance(portal, sdk.models.PortalPublic)
    assert not portal.ready
    assert [requirement.code for requirement in portal.unmet_requirements] == ["communications-enabled"]


def test_communications_off_make_it_ready(sdk: Generated, procedure: Procedure) -> None:
    body = sdk.models.CommunicationsPut(enabled=False)
    switched = _ok(sdk.op("communications_put").sync_detailed(PORTAL, client=procedure.client, body=body))
    assert switched.enabled is False
    portal = _ok(sdk.op("portals_get").sync_detailed(PORTAL, client=procedure.client))
    assert portal.ready
    assert portal.unmet_requirements == []


def test_services_import_sent_as_text_csv(sdk: Generated, procedure: Procedure) -> None:
    csv_file = sdk.types.File(
        payload=io.BytesIO(PORTAL_CSV.encode()), file_name="portal.csv", mime_type="text/csv"
    )
    report = _ok(sdk.op("services_import").sync_detailed(PORTAL, client=procedure.client, body=csv_file))
    assert isinstance(report, sdk.models.ImportReport)
    assert sorted(report.codes.created) == ["BLANQ", "LIMP", "ORTO", "REV"]
    (sent,) = [request for request in procedure.sent if request.url.path == IMPORT_PATH]
    assert sent.headers["content-type"] == "text/csv"  # not a multipart upload: the body is the file


def test_services_import_sent_as_a_multipart_upload(sdk: Generated, procedure: Procedure) -> None:
    """The other body the import takes. The portal's file again changes nothing; the model member's
    services come the same way; the other member's are created one by one, the price a decimal string."""
    run_import = sdk.op("services_import").sync_detailed
    for name, text in [(PORTAL, PORTAL_CSV), (NORTH, NORTH_CSV)]:
        upload = sdk.types.File(
            payload=io.BytesIO(text.encode()), file_name="services.csv", mime_type="text/csv"
        )
        body = sdk.models.ServicesImportFilesBody(file=upload)
        report = _ok(run_import(name, client=procedure.client, body=body))
        codes = sorted(line.split(",")[0] for line in text.splitlines()[1:])
        done = report.codes.unchanged if name == PORTAL else report.codes.created
        assert sorted(done) == codes, report.to_dict()
    create = sdk.op("services_create").sync_detailed
    for code, name, price in [("PROFILAXIS", "Limpieza bucal", "39.50"), ("ORTODONCIA", "Ortodoncia", None)]:
        body = sdk.models.ServiceCreate(code=code, name=name, duration_minutes=30, price=price)
        service = _ok(create(SOUTH, client=procedure.client, body=body), 201)
        assert (service.code, service.price) == (code, price)


def test_a_clone_of_the_model(sdk: Generated, procedure: Procedure) -> None:
    body = sdk.models.CloneRequest(name=WEST, display_name="Clinic West", member_code="W01")
    clone = _ok(sdk.op("instances_clone").sync_detailed(NORTH, client=procedure.client, body=body), 201)
    assert isinstance(clone, sdk.models.CloneResult)
    assert (clone.instance.name, clone.instance.cloned_from) == (WEST, NORTH)
    assert clone.copied.services == 3


def test_members_attached(sdk: Generated, procedure: Procedure) -> None:
    add = sdk.op("members_add").sync_detailed
    for name in (NORTH, SOUTH, WEST):
        member = _ok(add(PORTAL, client=procedure.client, body=sdk.models.InstanceRef(instance=name)), 201)
        assert (member.portal, member.name) == (PORTAL, name)


def test_mappings(sdk: Generated, procedure: Procedure) -> None:
    create = sdk.op("mappings_create").sync_detailed
    for member_service, portal_service in [("LIMPIEZA", "LIMP"), ("REVISION", "BLANQ")]:
        body = sdk.models.MappingCreate(member_service=member_service, portal_service=portal_service)
        mapping = _ok(create(PORTAL, NORTH, client=procedure.client, body=body), 201)
        assert (mapping.member_service, mapping.portal_service) == (member_service, portal_service)
    wanted = [("PROFILAXIS", "LIMP"), ("ORTODONCIA", "ORTO")]
    body = [sdk.models.MappingCreate(member_service=m, portal_service=p) for m, p in wanted]
    replaced = _ok(
        sdk.op("mappings_replace").sync_detailed(PORTAL, SOUTH, client=procedure.client, body=body)
    )
    assert replaced.added == 2
    target = sdk.models.MappingTarget(portal_service="LIMP")
    put = sdk.op("mappings_put").sync_detailed(PORTAL, WEST, "LIMPIEZA", client=procedure.client, body=target)
    assert _ok(put, 201).portal_service == "LIMP"


def test_a_409_is_read_as_a_problem(sdk: Generated, procedure: Procedure) -> None:
    """REVISION maps to BLANQ: mapping it to REV as well is a 409 already-mapped; PUT retargets it."""
    body = sdk.models.MappingCreate(member_service="REVISION", portal_service="REV")
    problem = _ok(
        sdk.op("mappings_create").sync_detailed(PORTAL, NORTH, client=procedure.client, body=body), 409
    )
    assert (problem.type_, problem.status) == ("/problems/already-mapped", 409)
    assert problem.title
    assert "BLANQ" in problem.detail
    target = sdk.models.MappingTarget(portal_service="REV")
    put = sdk.op("mappings_put").sync_detailed(
        PORTAL, NORTH, "REVISION", client=procedure.client, body=target
    )
    assert _ok(put).portal_service == "REV"


def test_a_409_is_read_as_its_own_type(sdk: Generated, procedure: Procedure) -> None:
    """Its class is the problem type's, its extension members attributes: the spec's oneOf of problem
    schemas, each with its `type` a constant, which the generator tries in turn."""
    body = sdk.models.MappingCreate(member_service="REVISION", portal_service="BLANQ")
    problem = _ok(
        sdk.op("mappings_create").sync_detailed(PORTAL, NORTH, client=procedure.client, body=body), 409
    )
    assert isinstance(problem, sdk.models.AlreadyMappedProblem), type(problem)
    assert problem.type_ == "/problems/already-mapped"
    assert problem.existing_portal_service == "REV"


def test_the_report_as_json(sdk: Generated, procedure: Procedure) -> None:
    report = _ok(sdk.op("portals_report").sync_detailed(PORTAL, client=procedure.client))
    assert isinstance(report, sdk.models.PortalReport)
    assert (report.portal, report.ready, report.member_count, report.portal_services) == (PORTAL, True, 3, 4)
    assert report.unused_portal_services == ["BLANQ"]
    members = {member.name: member for member in report.members}
    assert {name: (m.services, m.mapped, sorted(m.unmapped)) for name, m in members.items()} == {
        NORTH: (3, 2, ["IMPLANTE"]),
        SOUTH: (2, 2, []),
        WEST: (3, 1, ["IMPLANTE", "REVISION"]),
    }
    assert members[NORTH].web_enabled_unmapped == ["IMPLANTE"]
    assert members[NORTH].last_sync is None


def test_the_report_as_csv(procedure: Procedure) -> None:
    """The generator reads one representation of an answer, the first (JSON): the CSV is asked for
    with Accept through the generated client's own httpx client, which holds the key."""
    answer = procedure.client.get_httpx_client().get(
        f"/v1/portals/{PORTAL}/report", headers={"Accept": "text/csv"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(row["member"], row["services"], row["mapped"], row["unmapped"]) for row in rows] == [
        (NORTH, "3", "2", "IMPLANTE"),
        (SOUTH, "2", "2", ""),
        (WEST, "3", "1", "IMPLANTE REVISION"),
    ]


def test_pages_followed_through_next_cursor(sdk: Generated, procedure: Procedure) -> None:
    instances_list = sdk.op("instances_list").sync_detailed
    names: list[str] = []
    pages = 0
    cursor: str | None = None
    while True:
        kwargs = {"cursor": cursor} if cursor is not None else {}
        page = _ok(instances_list(client=procedure.client, limit=3, **kwargs))
        assert isinstance(page, sdk.models.PageInstancePublic)
        assert len(page.items) <= 3
        names += [instance.name for instance in page.items]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert (pages, sorted(names)) == (2, sorted([PORTAL, NORTH, SOUTH, WEST]))
    members = _ok(sdk.op("members_list").sync_detailed(PORTAL, client=procedure.client, limit=2))
    rest = _ok(
        sdk.op("members_list").sync_detailed(
            PORTAL, client=procedure.client, limit=2, cursor=members.next_cursor
        )
    )
    assert [m.name for m in members.items + rest.items] == [NORTH, SOUTH, WEST]
    assert rest.next_cursor is None


def test_timestamps_are_datetimes(sdk: Generated, procedure: Procedure) -> None:
    instance = _ok(sdk.op("instances_get").sync_detailed(NORTH, client=procedure.client))
    assert isinstance(instance.created_at, datetime), type(instance.created_at)
    assert instance.created_at.utcoffset() == UTC.utcoffset(None)
    assert instance.created_at <= instance.updated_at
