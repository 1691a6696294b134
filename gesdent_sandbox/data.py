"""Deterministic seeded data: resources, patients and reservations of any size.

Every value comes from a `random.Random` seeded with the config seed and a purpose, so the same
config (and the same `today`) always yields the same records.
"""

from __future__ import annotations

import random
import string
import unicodedata
from bisect import bisect_right
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate

from gesdent_sandbox.clock import Clock
from gesdent_sandbox.config import RESOURCE_KINDS, TREATMENT_CODES, SandboxConfig
from gesdent_sandbox.streams import Item, format_timestamp

FIRST_NAMES = (
    "Lucía", "José", "María", "Íñigo", "Begoña", "Ramón", "Inés", "Sofía", "Martín", "Ángela",
    "Raúl", "Nuria", "Joaquín", "Pilar", "Andrés", "Núria", "Jordi", "Aitor", "Mónica", "Óscar",
    "Elena", "Jesús", "Rocío", "Adrián", "Marta", "Tomás", "Leire", "Iván", "Alba", "Héctor",
)  # fmt: skip
LAST_NAMES = (
    "García", "Fernández", "Muñoz", "Martínez", "López", "Sánchez", "Pérez", "Gómez", "Díaz",
    "Álvarez", "Romero", "Jiménez", "Ruiz", "Hernández", "Núñez", "Ibáñez", "Peña", "Castaño",
    "Ortiz", "Rodríguez", "Gutiérrez", "Moreno", "Martín", "Vázquez", "Ramírez", "Serrano",
)  # fmt: skip
RESOURCE_NAMES = (
    ("Dra. Marta Ruiz", "dentist"),
    ("Dr. Álvaro Núñez", "dentist"),
    ("Higienista Inés Peña", "hygienist"),
    ("Gabinete 1", "chair"),
    ("Radiología", "other"),
)
assert {kind for _, kind in RESOURCE_NAMES} <= set(RESOURCE_KINDS)

# A quarter of the records share one timestamp (the day the clinic's data was migrated), so pages
# cut through ties and only the id orders them; the rest spread over the 90 days before `today`.
BULK_SHARE = 0.25
HISTORY_DAYS = 90
# Reservations fill at most this share of the working-day slots of their date range.
MAX_OCCUPANCY = 0.7


def below(rng: random.Random, n: int) -> int:
    """rng.randrange(n), a few times faster; the slight bias is irrelevant for sample data."""
    return int(rng.random() * n)


def epoch_of(day: date, at: time = time(0, 0)) -> int:
    return int(datetime.combine(day, at, UTC).timestamp())


class UpdatedAt:
    """Initial `updated_at` values, as Unix seconds, all before `today`."""

    def __init__(self, rng: random.Random, today: date) -> None:
        self.rng = rng
        self.bulk = epoch_of(today - timedelta(days=HISTORY_DAYS), time(8, 0))
        self.span_minutes = HISTORY_DAYS * 24 * 60 - 8 * 60 - 1

    def next(self) -> int:
        if self.rng.random() < BULK_SHARE:
            return self.bulk
        return self.bulk + 60 * (1 + below(self.rng, self.span_minutes))


def resource_id(rng: random.Random) -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "-".join("".join(rng.choices(alphabet, k=size)) for size in (8, 8, 8, 8, 4))


def make_resources(config: SandboxConfig, today: date) -> list[Item]:
    rng = random.Random(f"{config.seed}:resources")
    epoch = UpdatedAt(rng, today).bulk
    resources = []
    for index in range(config.resources):
        name, kind = RESOURCE_NAMES[index % len(RESOURCE_NAMES)]
        if index >= len(RESOURCE_NAMES):
            name = f"{name} ({index // len(RESOURCE_NAMES) + 1})"
        generated = resource_id(rng)  # drawn even when overridden: the rest of the data stays the same
        overrides = config.resource_id_overrides
        resources.append(
            {
                "id": overrides[index] if index < len(overrides) else generated,
                "name": name,
                "kind": kind,
                "active": True,
                "updated_at": format_timestamp(epoch),
                "_epoch": epoch,
            }
        )
    return resources


def ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def patient_id(number: int) -> str:
    return f"P-{10000 + number}"


def make_patient(rng: random.Random, number: int, epoch: int) -> Item:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    birth = date(1930, 1, 1) + timedelta(days=rng.randrange(90 * 365))
    # Real practice databases have gaps: a few patients have no e-mail or no member code.
    email = f"{ascii_fold(first)}.{ascii_fold(last)}{number}@example.org" if rng.random() > 0.05 else None
    return {
        "id": patient_id(number),
        "first_name": first,
        "last_name": last,
        "phone": f"+346{rng.randrange(10**8):08d}",
        "email": email,
        "birth_date": birth.isoformat(),
        "member_code": f"S-{rng.randrange(10**5):05d}" if rng.random() > 0.1 else None,
        "updated_at": format_timestamp(epoch),
        "deleted": rng.random() < 0.01,
        "_epoch": epoch,
    }


def make_patients(config: SandboxConfig, today: date) -> list[Item]:
    rng = random.Random(f"{config.seed}:patients")
    stamps = UpdatedAt(rng, today)
    return [make_patient(rng, number, stamps.next()) for number in range(1, config.patients + 1)]


class Calendar:
    """The working days reservations may fall on: enough past days for the requested count at
    MAX_OCCUPANCY, then `future_days` calendar days from today. A cell is (resource, day, slot); a
    day has the slots its clock gives it (fewer or more on a day the clocks change)."""

    def __init__(self, config: SandboxConfig, today: date) -> None:
        self.today = today
        self.resources = config.resources
        self.clock = clock = Clock(config)
        future = [
            d for d in (today + timedelta(days=n) for n in range(config.future_days)) if clock.is_open(d)
        ]
        per_day = int(MAX_OCCUPANCY * clock.nominal_slots * config.resources)
        needed_days = -(-config.reservations // max(1, per_day))
        past: list[date] = []
        day = today
        while len(past) < max(20, needed_days - len(future)):
            day -= timedelta(days=1)
            if clock.is_open(day):
                past.append(day)
        self.days: list[date] = past[::-1] + future
        self.first_future = len(past)
        self.day_index = {d: i for i, d in enumerate(self.days)}
        # Where each day's cells start among a resource's: cell numbers run day after day.
        self.day_starts = [0, *accumulate(clock.slots_on(d) for d in self.days)]

    @property
    def cells(self) -> int:
        return self.resources * self.day_starts[-1]

    def cell(self, number: int) -> tuple[int, int, int]:
        resource, rest = divmod(number, self.day_starts[-1])
        day = bisect_right(self.day_starts, rest) - 1
        return resource, day, rest - self.day_starts[day]

    def future_cells(self, resource: int) -> range:
        base = resource * self.day_starts[-1]
        return range(base + self.day_starts[self.first_future], base + self.day_starts[-1])


def reservation_id(number: int) -> str:
    return f"R-{500000 + number}"


def status_for(rng: random.Random, day: date, today: date) -> str:
    roll = rng.random()
    if day < today:
        return "attended" if roll < 0.85 else "no_show" if roll < 0.92 else "cancelled"
    return "booked" if roll < 0.9 else "cancelled"


def make_reservation(
    rng: random.Random, number: int, cell: tuple[int, int, int], context: ReservationContext, epoch: int
) -> Item:
    resource, day_index, slot = cell
    day = context.calendar.days[day_index]
    start, end = context.calendar.clock.bounds(day, slot)
    return {
        "id": reservation_id(number),
        "resource_id": context.resource_ids[resource],
        "user_id": patient_id(1 + below(rng, context.patients)) if context.patients else None,
        "treatment_code": TREATMENT_CODES[below(rng, len(TREATMENT_CODES))],
        "start": start,
        "end": end,
        "status": status_for(rng, day, context.calendar.today),
        "updated_at": format_timestamp(epoch),
        "_epoch": epoch,
        "_cell": cell,
    }


class ReservationContext:
    def __init__(self, calendar: Calendar, resource_ids: list[str], patients: int) -> None:
        self.calendar = calendar
        self.resource_ids = resource_ids
        self.patients = patients


def make_reservations(config: SandboxConfig, context: ReservationContext) -> list[Item]:
    rng = random.Random(f"{config.seed}:reservations")
    stamps = UpdatedAt(rng, context.calendar.today)
    # Distinct cells: no two reservations of one resource overlap.
    cells = rng.sample(range(context.calendar.cells), config.reservations)
    return [
        make_reservation(rng, number, context.calendar.cell(cell), context, stamps.next())
        for number, cell in enumerate(cells, start=1)
    ]
