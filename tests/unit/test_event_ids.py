"""Event ids order an instance's events: UUIDv7 that grow strictly within a process."""

from app.events.outbox import ordered_id


def test_event_ids_grow_within_a_process() -> None:
    ids = [ordered_id() for _ in range(10_000)]  # many within one millisecond
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(i[14] == "7" for i in ids)  # UUID version 7
