"""Free slots of a resource: every working-day slot from today on, minus the slots held by a
reservation that is not cancelled, minus a seeded tenth "blocked" (breaks, absences) that moves each
time a mutation shifts the availability version."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

from gesdent_sandbox.config import TREATMENT_CODES
from gesdent_sandbox.dataset import Dataset

MAX_WINDOW_DAYS = 366
BLOCKED_SHARE = 10  # one slot in BLOCKED_SHARE is blocked


def _roll(*parts: object) -> int:
    """A stable pseudo-random integer for these parts (Python's hash() is salted per process)."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def treatment_codes(seed: int, resource_id: str, day: date, slot: int) -> list[str]:
    """1 to 3 codes per slot, stable across availability versions so a slot keeps its codes."""
    roll = _roll(seed, resource_id, day, slot, "codes")
    count = 1 + roll % 3
    start = (roll // 3) % len(TREATMENT_CODES)
    return [TREATMENT_CODES[(start + i) % len(TREATMENT_CODES)] for i in range(count)]


def is_blocked(seed: int, resource_id: str, day: date, slot: int, version: int) -> bool:
    return _roll(seed, resource_id, day, slot, version, "blocked") % BLOCKED_SHARE == 0


def free_slots(dataset: Dataset, resource_id: str, first: date, last: date) -> list[dict[str, Any]]:
    seed = dataset.config.seed
    tables = dataset.tables
    resource = dataset.resource_index(resource_id)
    clock = dataset.calendar.clock
    slots = []
    day = max(first, dataset.today)  # the server never offers slots in the past
    while day <= last:
        if clock.is_open(day):
            day_index = dataset.calendar.day_index.get(day)
            for slot in range(clock.slots_on(day)):
                if day_index is not None and (resource, day_index, slot) in tables.occupied:
                    continue
                if is_blocked(seed, resource_id, day, slot, tables.availability_version):
                    continue
                start, end = clock.bounds(day, slot)
                codes = treatment_codes(seed, resource_id, day, slot)
                slots.append({"start": start, "end": end, "treatment_codes": codes})
        day += timedelta(days=1)
    return slots
