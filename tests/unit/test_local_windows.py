"""The moving windows counted in one process (app/local_windows.py)."""

from app.local_windows import SWEEP_SECONDS, LocalWindows

KEY = ("key", "k1")


def test_a_window_allows_its_limit_and_gives_each_request_back_one_window_after_it_was_spent() -> None:
    windows = LocalWindows()
    hits = [windows.hit(KEY, 3, 10, now=t) for t in (100.0, 101.0, 102.0, 103.0)]
    assert [h.allowed for h in hits] == [True, True, True, False]
    assert [h.remaining for h in hits] == [2, 1, 0, 0]
    assert hits[-1].reset_at == 110.0  # the oldest request leaves the window then
    assert not windows.hit(KEY, 3, 10, now=109.9).allowed
    again = windows.hit(KEY, 3, 10, now=110.0)  # the first came back, and only it
    assert (again.allowed, again.remaining, again.reset_at) == (True, 0, 111.0)
    assert not windows.hit(KEY, 3, 10, now=110.5).allowed


def test_a_refused_request_spends_nothing() -> None:
    windows = LocalWindows()
    for t in range(5):
        windows.hit(KEY, 1, 10, now=100.0 + t)
    assert windows.hit(KEY, 1, 10, now=110.0).allowed  # the refused ones did not push the window


def test_identifiers_are_counted_apart() -> None:
    windows = LocalWindows()
    assert windows.hit(("key", "a"), 1, 60, now=0.0).allowed
    assert windows.hit(("key", "b"), 1, 60, now=0.0).allowed
    assert windows.hit(("auth-failure", "a"), 1, 60, now=0.0).allowed
    assert not windows.hit(("key", "a"), 1, 60, now=1.0).allowed


def test_an_empty_window_resets_now() -> None:
    hit = LocalWindows().hit(KEY, 0, 60, now=5.0)
    assert (hit.allowed, hit.remaining, hit.reset_at) == (False, 0, 5.0)


def test_idle_identifiers_are_dropped_by_the_sweep_and_busy_ones_kept() -> None:
    windows = LocalWindows()
    start = windows._next_sweep - SWEEP_SECONDS
    for n in range(1000):
        windows.hit(("key", f"idle{n}"), 5, 1, now=start)
    windows.hit(("key", "busy"), 5, 3600, now=start)
    assert len(windows) == 1001
    windows.hit(("key", "busy"), 5, 3600, now=start + SWEEP_SECONDS)
    assert len(windows) == 1  # the idle ones' requests had all come back
    assert windows.hit(("key", "busy"), 5, 3600, now=start + SWEEP_SECONDS).remaining == 2


def test_a_changed_rate_is_counted_afresh() -> None:
    windows = LocalWindows()
    windows.hit(KEY, 3, 60, now=0.0)
    assert windows.hit(KEY, 5, 60, now=1.0).remaining == 4
    assert windows.hit(KEY, 5, 30, now=2.0).remaining == 4
