"""The summary report of a portal, as values and as CSV."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Instance, utcnow
from app.db.repositories import reports as repo
from app.domain import rules
from app.domain.csv_cells import neutralise
from app.schemas.portals import RequirementPublic
from app.schemas.reports import MemberReport, PortalReport
from app.services.portals import Portal

CSV_COLUMNS = (
    "member",
    "display_name",
    "member_code",
    "services",
    "mapped",
    "unmapped",
    "web_enabled_unmapped",
    "last_sync",
    "health",
)


async def report(session: AsyncSession, portal: Portal) -> PortalReport:
    return await _report_of(session, portal.instance, portal.facts)


async def _report_of(session: AsyncSession, instance: Instance, facts: rules.InstanceFacts) -> PortalReport:
    unmapped: dict[str, list[str]] = defaultdict(list)
    web_unmapped: dict[str, list[str]] = defaultdict(list)
    for service in await repo.unmapped_member_services(session, instance.id):
        unmapped[service.member_id].append(service.code)
        if service.web_enabled:
            web_unmapped[service.member_id].append(service.code)
    mapped = await repo.mapped_counts(session, instance.id)
    synced = await repo.member_syncs(session, instance.id, utcnow())
    members = [
        MemberReport(
            name=row.name,
            display_name=row.display_name,
            member_code=row.member_code,
            services=mapped.get(row.id, 0) + len(unmapped.get(row.id, ())),
            mapped=mapped.get(row.id, 0),
            unmapped=unmapped.get(row.id, []),
            web_enabled_unmapped=web_unmapped.get(row.id, []),
            last_sync=synced[row.id].last_success_at if row.id in synced else None,
            health=synced[row.id].state if row.id in synced else "never",
        )
        for row in await repo.members(session, instance.id)
    ]
    unmet = rules.unmet_requirements(facts.portal_setting, facts.communications_enabled)
    return PortalReport(
        portal=instance.name,
        display_name=instance.display_name,
        ready=not unmet,
        unmet_requirements=[RequirementPublic(code=r.code, message=r.message) for r in unmet],
        member_count=len(members),
        portal_services=await repo.portal_service_count(session, instance.id),
        unused_portal_services=await repo.unused_portal_services(session, instance.id),
        members=members,
    )


def to_csv(report: PortalReport) -> str:
    """One row per member; code lists are space-separated. Cells are neutralised against formula
    injection, as in the services export (app/domain/csv_cells.py)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for m in report.members:
        cells = [
            m.name,
            m.display_name,
            m.member_code or "",
            str(m.services),
            str(m.mapped),
            " ".join(m.unmapped),
            " ".join(m.web_enabled_unmapped),
            "" if m.last_sync is None else m.model_dump(mode="json")["last_sync"],
            m.health,
        ]
        writer.writerow([neutralise(cell) for cell in cells])
    return out.getvalue()


MEMBERS_PER_PAGE = 20


@dataclass(frozen=True)
class ReportPage:
    """The report as a page for people: every member's summary, and the services of one page of
    members with their Web column (a portal of a thousand members is not one page of 100,000 rows)."""

    report: PortalReport
    page: int
    pages: int
    members: list[MemberReport]  # this page's
    services: dict[str, list[repo.ServiceLine]]  # member name → its services, by code


async def report_page(session: AsyncSession, portal: Portal, page: int) -> ReportPage:
    instance = portal.instance
    result = await _report_of(session, instance, portal.facts)
    pages = max(1, -(-len(result.members) // MEMBERS_PER_PAGE))
    page = min(page, pages)
    shown = result.members[(page - 1) * MEMBERS_PER_PAGE : page * MEMBERS_PER_PAGE]
    services: dict[str, list[repo.ServiceLine]] = defaultdict(list)
    for line in await repo.service_lines(session, instance.id, [m.name for m in shown]):
        services[line.member].append(line)
    return ReportPage(result, page, pages, shown, services)
