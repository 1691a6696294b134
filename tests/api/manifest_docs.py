"""Manifests the manifest tests build: a portal with `members` clinics, each with the portal's
services mapped one to one, and GESDENT rules whose passwords come from `secrets`."""

from __future__ import annotations

from typing import Any

PORTAL = "tt_chain_portal"


def services(count: int, prefix: str = "S", web: bool = True) -> list[dict[str, Any]]:
    return [
        {
            "code": f"{prefix}{i:03d}",
            "name": f"Service {i}",
            "duration_minutes": 30,
            "price": "45.50",
            "web_enabled": web,
        }
        for i in range(count)
    ]


def manifest(members: int = 20, service_count: int = 3, gesdent: bool = True) -> dict[str, Any]:
    document: dict[str, Any] = {
        "portal": {
            "name": "chain_portal",
            "display_name": "Chain portal",
            "settings": {"timezone": "Europe/Madrid"},
            "services": services(service_count, "P"),
        },
        "members": [],
        "secrets": {"chain_password": "s3cret-Pa55word"},
    }
    for i in range(members):
        member: dict[str, Any] = {
            "name": f"clinic_{i:03d}",
            "display_name": f"Clinic {i}",
            "member_code": f"C{i:03d}",
            "settings": {"colour": "blue"},
            "services": services(service_count, "M"),
            "mappings": {f"M{j:03d}": f"P{j:03d}" for j in range(service_count)},
        }
        if gesdent:
            member["gesdent"] = {
                "base_url": "http://127.0.0.1:9/",
                "resource_ids": [f"AAAA{i:04d}-BBBB2222"],
                "credentials": {
                    family: {"username": "digest", "password_secret": "chain_password"}
                    for family in ("users", "reservations", "availability")
                },
            }
        document["members"].append(member)
    return document
