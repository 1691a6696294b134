"""Mutations: the clinic keeps working between two syncs.

A mutation changes existing records (and may add some), stamping them with one `updated_at` that is
strictly later than anything served before, so `updated_since = previous max` finds them. Which
records change, and how, depends only on the seed and the mutation counter.
"""

from __future__ import annotations

import random
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gesdent_sandbox.config import TREATMENT_CODES
from gesdent_sandbox.data import LAST_NAMES, make_patient, patient_id, reservation_id
from gesdent_sandbox.dataset import Cell, Dataset, Tables
from gesdent_sandbox.streams import Item, Stream, format_timestamp

FREE_CELL_ATTEMPTS = 200


class MutationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    patients: int = Field(0, ge=0, description="existing patients to change (about 1 in 10 is deleted)")
    reservations: int = Field(0, ge=0, description="existing reservations to change (cancel, move, recode)")
    availability: bool = Field(False, description="shift the blocked slots of every resource")
    new_patients: int = Field(0, ge=0)
    new_reservations: int = Field(0, ge=0, description="new bookings in free future slots")


class Mutation:
    def __init__(self, dataset: Dataset, request: MutationRequest) -> None:
        self.dataset = dataset
        self.tables: Tables = dataset.tables
        self.request = request
        self.tables.mutations += 1
        self.rng = random.Random(f"{dataset.config.seed}:mutation:{self.tables.mutations}")
        self.epoch = max(int(time.time()), self.tables.max_epoch + 1)
        self.stamp = {"updated_at": format_timestamp(self.epoch), "_epoch": self.epoch}
        self.report: dict[str, list[str]] = {
            "patients_changed": [],
            "patients_created": [],
            "patients_deleted": [],
            "reservations_changed": [],
            "reservations_created": [],
            "reservations_cancelled": [],
            "reservations_moved": [],
        }

    def run(self) -> dict[str, Any]:
        patients = self._change_patients() + self._add_patients()
        reservations = self._change_reservations() + self._add_reservations()
        if self.request.availability:
            self.tables.availability_version += 1
        self._store(patients, reservations)
        return {
            "mutation": self.tables.mutations,
            "updated_at": self.stamp["updated_at"],
            "availability_version": self.tables.availability_version,
            "patients": sorted(p["id"] for p in patients),
            "reservations": sorted(r["id"] for r in reservations),
            **{name: sorted(ids) for name, ids in self.report.items()},
        }

    def _change_patients(self) -> list[Item]:
        ids = self.tables.patient_ids
        changed = []
        for pid in self.rng.sample(ids, min(self.request.patients, len(ids))):
            patient = {**self.tables.user_by_id[pid], **self.stamp}
            roll = self.rng.random()
            if roll < 0.1:
                patient["deleted"] = not patient["deleted"]
                if patient["deleted"]:
                    self.report["patients_deleted"].append(pid)
            elif roll < 0.55:
                patient["phone"] = f"+346{self.rng.randrange(10**8):08d}"
            else:
                patient["last_name"] = self.rng.choice(LAST_NAMES)
            changed.append(patient)
        self.report["patients_changed"] += [p["id"] for p in changed]
        return changed

    def _add_patients(self) -> list[Item]:
        created = []
        for _ in range(self.request.new_patients):
            number = self.tables.next_patient
            self.tables.next_patient += 1
            created.append({**make_patient(self.rng, number, self.epoch), "deleted": False})
        self.tables.patient_ids += [p["id"] for p in created]
        self.report["patients_created"] += [p["id"] for p in created]
        return created

    def _change_reservations(self) -> list[Item]:
        ids = list(self.tables.reservation_by_id)  # creation order: deterministic
        changed = []
        for rid in self.rng.sample(ids, min(self.request.reservations, len(ids))):
            reservation = {**self.tables.reservation_by_id[rid], **self.stamp}
            self._change_reservation(reservation)
            changed.append(reservation)
        self.report["reservations_changed"] += [r["id"] for r in changed]
        return changed

    def _change_reservation(self, reservation: Item) -> None:
        future = reservation["_cell"][1] >= self.dataset.calendar.first_future
        roll = self.rng.random()
        if future and reservation["status"] == "booked" and roll < 0.7:
            if roll < 0.4 or not self._move(reservation):
                self._set_status(reservation, "cancelled")
                self.report["reservations_cancelled"].append(reservation["id"])
        elif not future and reservation["status"] in ("attended", "no_show") and roll < 0.5:
            self._set_status(reservation, "no_show" if reservation["status"] == "attended" else "attended")
        else:
            others = [code for code in TREATMENT_CODES if code != reservation["treatment_code"]]
            reservation["treatment_code"] = self.rng.choice(others)

    def _set_status(self, reservation: Item, status: str) -> None:
        if status == "cancelled":
            self.tables.occupied.pop(reservation["_cell"], None)
        reservation["status"] = status

    def _move(self, reservation: Item) -> bool:
        """Reschedule to a free future slot of the same resource; False when none was found."""
        cell = self._free_future_cell(reservation["_cell"][0])
        if cell is None:
            return False
        self.tables.occupied.pop(reservation["_cell"], None)
        self._place(reservation, cell)
        self.report["reservations_moved"].append(reservation["id"])
        return True

    def _place(self, reservation: Item, cell: Cell) -> None:
        _, day_index, slot = cell
        reservation["_cell"] = cell
        calendar = self.dataset.calendar
        reservation["start"], reservation["end"] = calendar.clock.bounds(calendar.days[day_index], slot)
        self.tables.occupied[cell] = reservation["id"]

    def _free_future_cell(self, resource: int) -> Cell | None:
        calendar = self.dataset.calendar
        cells = calendar.future_cells(resource)
        for _ in range(FREE_CELL_ATTEMPTS):
            if not cells:
                return None
            cell = calendar.cell(self.rng.choice(cells))
            if cell not in self.tables.occupied:
                return cell
        return None

    def _add_reservations(self) -> list[Item]:
        created = []
        resource_ids = self.dataset.resource_ids
        for _ in range(self.request.new_reservations):
            resource = self.rng.randrange(len(resource_ids))
            cell = self._free_future_cell(resource)
            if cell is None:
                break
            number = self.tables.next_reservation
            self.tables.next_reservation += 1
            patients = self.tables.patient_ids
            reservation = {
                "id": reservation_id(number),
                "resource_id": resource_ids[resource],
                "user_id": self.rng.choice(patients) if patients else patient_id(1),
                "treatment_code": self.rng.choice(TREATMENT_CODES),
                "status": "booked",
                **self.stamp,
            }
            self._place(reservation, cell)
            created.append(_ordered(reservation))
        self.report["reservations_created"] += [r["id"] for r in created]
        return created

    def _store(self, patients: list[Item], reservations: list[Item]) -> None:
        tables = self.tables
        if patients or reservations:
            tables.max_epoch = self.epoch
        tables.users.replace(patients)
        tables.user_by_id.update({p["id"]: p for p in patients})
        tables.reservations.replace(reservations)
        tables.reservation_by_id.update({r["id"]: r for r in reservations})
        for resource_id in {r["resource_id"] for r in reservations}:
            stream: Stream = tables.reservations_by_resource[resource_id]
            stream.replace([r for r in reservations if r["resource_id"] == resource_id])


RESERVATION_FIELDS = (
    "id",
    "resource_id",
    "user_id",
    "treatment_code",
    "start",
    "end",
    "status",
    "updated_at",
)


def _ordered(reservation: Item) -> Item:
    """Same field order as generated reservations, so every item serialises alike."""
    public = {name: reservation[name] for name in RESERVATION_FIELDS}
    return {**public, "_epoch": reservation["_epoch"], "_cell": reservation["_cell"]}
