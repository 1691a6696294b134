"""The sandbox's current data: generated once, indexed for fast pages, changed by mutations, and
restorable to its initial state."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date

from gesdent_sandbox.config import SandboxConfig
from gesdent_sandbox.data import (
    Calendar,
    ReservationContext,
    make_patients,
    make_reservations,
    make_resources,
)
from gesdent_sandbox.streams import Item, Stream

Cell = tuple[int, int, int]  # (resource index, day index in the calendar, slot index)


@dataclass
class Tables:
    """Everything a mutation may change. Item dicts are never changed in place, so a shallow copy of
    the containers is a full snapshot."""

    users: Stream
    user_by_id: dict[str, Item]
    reservations: Stream
    reservations_by_resource: dict[str, Stream]
    reservation_by_id: dict[str, Item]
    # Cells held by a reservation that is not cancelled: these are not free slots.
    occupied: dict[Cell, str]
    next_patient: int
    next_reservation: int
    max_epoch: int
    availability_version: int = 0
    mutations: int = 0
    patient_ids: list[str] = field(default_factory=list)  # creation order: what mutations sample from

    def copy(self) -> Tables:
        duplicate = copy.copy(self)
        duplicate.users = self.users.copy()
        duplicate.user_by_id = dict(self.user_by_id)
        duplicate.reservations = self.reservations.copy()
        duplicate.reservations_by_resource = {k: s.copy() for k, s in self.reservations_by_resource.items()}
        duplicate.reservation_by_id = dict(self.reservation_by_id)
        duplicate.occupied = dict(self.occupied)
        duplicate.patient_ids = list(self.patient_ids)
        return duplicate


class Dataset:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.today: date = config.effective_today
        self.resources: list[Item] = make_resources(config, self.today)
        self.resource_ids: list[str] = [resource["id"] for resource in self.resources]
        self.resource_by_id: dict[str, Item] = {resource["id"]: resource for resource in self.resources}
        self.calendar = Calendar(config, self.today)
        self._initial = self._generate()
        self.tables = self._initial.copy()

    def _generate(self) -> Tables:
        patients = make_patients(self.config, self.today)
        context = ReservationContext(self.calendar, self.resource_ids, self.config.patients)
        reservations = make_reservations(self.config, context)
        by_resource: dict[str, list[Item]] = {rid: [] for rid in self.resource_ids}
        for reservation in reservations:
            by_resource[reservation["resource_id"]].append(reservation)
        everything = [*self.resources, *patients, *reservations]
        return Tables(
            users=Stream.of(patients),
            user_by_id={p["id"]: p for p in patients},
            reservations=Stream.of(reservations),
            reservations_by_resource={rid: Stream.of(items) for rid, items in by_resource.items()},
            reservation_by_id={r["id"]: r for r in reservations},
            occupied={r["_cell"]: r["id"] for r in reservations if r["status"] != "cancelled"},
            next_patient=len(patients) + 1,
            next_reservation=len(reservations) + 1,
            max_epoch=max((item["_epoch"] for item in everything), default=0),
            patient_ids=[p["id"] for p in patients],
        )

    def reset(self) -> None:
        self.tables = self._initial.copy()

    def resource_index(self, resource_id: str) -> int:
        return self.resource_ids.index(resource_id)
