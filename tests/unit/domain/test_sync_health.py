"""The sync health rules, as plain values: no database."""

from datetime import UTC, datetime, timedelta

import pytest

from app.domain.sync_health import (
    ERROR_LENGTH,
    Facts,
    Schedule,
    as_state,
    derive,
    short_error,
    stale_after,
    stream_outcomes,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ON = Schedule(enabled=True, stale_after_minutes=45)


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def test_the_default_threshold_is_three_intervals():
    assert stale_after(15, None) == (45, True)
    assert stale_after(15, 10) == (10, False)


def test_no_rules_is_never_whatever_ran_before():
    derived = derive(Facts(last_success_at=ago(1)), None, NOW)
    assert (derived.state, derived.since) == ("never", None)


def test_disabled_rules_are_disabled_even_before_any_run():
    assert derive(Facts(), Schedule(False, 45), NOW).state == "disabled"
    assert (
        derive(Facts(last_error_at=ago(1), failing_since=ago(1)), Schedule(False, 45), NOW).state
        == "disabled"
    )


def test_no_outcome_is_never():
    assert derive(Facts(), ON, NOW).state == "never"


def test_a_recent_success_is_fresh_until_the_threshold():
    derived = derive(Facts(last_success_at=ago(44)), ON, NOW)
    assert (derived.state, derived.since, derived.stale_at) == ("fresh", ago(44), ago(-1))
    derived = derive(Facts(last_success_at=ago(45)), ON, NOW)
    assert (derived.state, derived.since) == ("stale", NOW)


def test_an_error_after_the_last_success_is_failing_since_the_first_one():
    facts = Facts(last_success_at=ago(30)).after(False, ago(20)).after(False, ago(10))
    assert facts.failing_since == ago(20)
    assert facts.last_error_at == ago(10)
    derived = derive(facts, ON, NOW)
    assert (derived.state, derived.since) == ("failing", ago(20))
    # A failing instance whose success went stale is still failing: the error says why.
    assert derive(facts, Schedule(True, 5), NOW).state == "failing"


def test_a_success_ends_failing():
    facts = Facts().after(False, ago(20)).after(True, ago(5))
    assert facts.failing_since is None
    assert facts.last_error_at == ago(20)
    assert derive(facts, ON, NOW).state == "fresh"


def test_stream_outcomes_of_a_success():
    counts = {s: {"fetched": 1} for s in ("resources", "users", "reservations", "availability")}
    streams = ["resources", "users", "reservations", "availability"]
    assert stream_outcomes("succeeded", streams, counts, None) == dict.fromkeys(streams, True)


def test_stream_outcomes_of_a_partial_run_stopped_at_a_stream():
    counts: dict[str, dict[str, int]] = {"resources": {}, "users": {}, "reservations": {}}
    streams = ["resources", "users", "reservations", "availability"]
    outcomes = stream_outcomes("partial", streams, counts, "reservations")
    # availability was not reached: it keeps its state.
    assert outcomes == {"resources": True, "users": True, "reservations": False}


def test_stream_outcomes_of_rejected_records():
    counts = {"users": {"rejected": 2}, "reservations": {"rejected": 0}}
    assert stream_outcomes("partial", ["users", "reservations"], counts, None) == {
        "users": False,
        "reservations": True,
    }


def test_a_run_that_failed_before_any_stream_failed_them_all():
    assert stream_outcomes("failed", ["users", "reservations"], {}, None) == {
        "users": False,
        "reservations": False,
    }


def test_errors_are_kept_short_and_states_checked():
    assert short_error("x" * 1000) == "x" * (ERROR_LENGTH - 1) + "…"
    assert short_error("short") == "short"
    assert as_state("stale") == "stale"
    with pytest.raises(ValueError, match="not a sync health state"):
        as_state("ok")
