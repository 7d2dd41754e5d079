"""classify(): what each answer from a peer means for a delivery, and the retry schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import aiohttp
import pytest

from commonsfed.federation.delivery import (
    BASE_DELAY,
    MAX_DELAY,
    PARK_MAX,
    RETRY_WINDOW,
    backoff,
    classify,
    nominal_elapsed,
    park_until,
)
from commonsfed.federation.keys import NoSigningKey
from commonsfed.federation.transport import AddressNotAllowed, TransportError

NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


def no_jitter() -> float:
    return 0.5  # the middle of [0, 1): exactly the nominal wait


def run(status=None, error=None, attempts=0, retry_after=None, rand=no_jitter, **kwargs):
    return classify(status, error, attempts, NOW, retry_after, rand, **kwargs)


# --- done, retry, give up -----------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_classify__2xx_is_done(status):
    outcome = run(status)
    assert outcome.kind == "done"
    assert outcome.next_try_at is None
    assert outcome.host_answered is True


@pytest.mark.parametrize("status", [500, 502, 504, 520, 401, 408])
def test_classify__5xx_401_408_retry_by_the_schedule(status):
    outcome = run(status, attempts=3)
    assert outcome.kind == "retry"
    assert outcome.next_try_at == NOW + timedelta(minutes=4)
    assert outcome.error == f"HTTP {status}"


@pytest.mark.parametrize("status", [400, 403, 404, 405, 410, 413, 422])
def test_classify__other_4xx_give_up(status):
    outcome = run(status)
    assert outcome.kind == "give_up"
    assert outcome.status == status
    assert outcome.host_answered is True  # the host is up; this delivery is refused


@pytest.mark.parametrize("status", [100, 301, 302, 307, 308])
def test_classify__redirects_and_other_odd_statuses_give_up(status):
    assert run(status).kind == "give_up"


@pytest.mark.parametrize(
    "error",
    [
        TimeoutError(),
        ConnectionRefusedError(111, "Connection refused"),
        aiohttp.ServerDisconnectedError(),
        aiohttp.ClientPayloadError("cut short"),
        OSError("network unreachable"),
    ],
)
def test_classify__network_errors_retry_and_count_against_the_host(error):
    outcome = run(error=error)
    assert outcome.kind == "retry"
    assert outcome.next_try_at == NOW + BASE_DELAY
    assert outcome.host_answered is False
    assert type(error).__name__ in outcome.error


@pytest.mark.parametrize(
    "error",
    [
        AddressNotAllowed("refused: 10.0.0.1 is an internal address"),
        TransportError("refused"),
        NoSigningKey("http://north.test/users/gone is not an active local actor"),
        aiohttp.InvalidURL("http://"),
        ValueError("a bug"),
    ],
)
def test_classify__refusals_give_up_and_say_nothing_about_the_host(error):
    outcome = run(error=error)
    assert outcome.kind == "give_up"
    assert outcome.host_answered is None
    assert str(error) in outcome.error


def test_classify__address_not_allowed_gives_up_even_on_the_first_attempt():
    assert run(error=AddressNotAllowed("refused"), attempts=0).kind == "give_up"


# --- Retry-After ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_classify__429_and_503_honour_retry_after_in_seconds(status):
    outcome = run(status, attempts=0, retry_after="120")
    assert outcome.kind == "retry"
    assert outcome.next_try_at == NOW + timedelta(seconds=120)


def test_classify__retry_after_as_an_http_date():
    when = NOW + timedelta(minutes=10)
    outcome = run(429, retry_after=format_datetime(when, usegmt=True))
    assert outcome.next_try_at == when


def test_classify__retry_after_is_capped_at_six_hours():
    assert run(429, retry_after="999999").next_try_at == NOW + timedelta(hours=6)
    far = format_datetime(NOW + timedelta(days=30), usegmt=True)
    assert run(503, retry_after=far).next_try_at == NOW + timedelta(hours=6)


def test_classify__retry_after_in_the_past_or_zero_waits_at_least_30_seconds():
    past = format_datetime(NOW - timedelta(hours=1), usegmt=True)
    assert run(429, retry_after=past).next_try_at == NOW + BASE_DELAY
    assert run(429, retry_after="0").next_try_at == NOW + BASE_DELAY


@pytest.mark.parametrize("garbage", ["soon", "-5", "1.5", "", "  ", "12e3", "Fri, 99 Foo"])
def test_classify__garbage_retry_after_falls_back_to_the_schedule(garbage):
    outcome = run(429, attempts=2, retry_after=garbage)
    assert outcome.kind == "retry"
    assert outcome.next_try_at == NOW + backoff(2) == NOW + timedelta(minutes=2)


def test_classify__retry_after_is_ignored_on_a_500():
    assert run(500, attempts=0, retry_after="3600").next_try_at == NOW + BASE_DELAY


def test_classify__429_is_not_held_against_the_host_as_an_answer():
    assert run(429, retry_after="60").host_answered is False


# --- The schedule ---------------------------------------------------------------------------


def test_backoff__doubles_from_30_seconds_up_to_6_hours():
    waits = [backoff(n) for n in range(12)]
    assert waits[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert waits[9] == timedelta(seconds=30 * 2**9)  # 4 h 16 min
    assert waits[10:] == [MAX_DELAY, MAX_DELAY]
    assert backoff(1000) == MAX_DELAY


@pytest.mark.parametrize(("rand", "factor"), [(0.0, 0.8), (0.5, 1.0), (0.999999, 1.2)])
def test_classify__jitter_stays_within_20_percent(rand, factor):
    outcome = run(500, attempts=4, rand=lambda: rand)
    wait = outcome.next_try_at - NOW
    assert wait == pytest.approx(backoff(4) * factor, abs=timedelta(milliseconds=1))


def simulate(rand=no_jitter) -> tuple[int, timedelta]:
    """Fail every attempt from NOW on; (attempts made, time of the last one after NOW)."""
    now, attempts = NOW, 0
    while True:
        outcome = classify(500, None, attempts, now, None, rand, first_try_at=NOW)
        attempts += 1
        if outcome.kind == "give_up":
            return attempts, now - NOW
        now = outcome.next_try_at


def test_schedule__retries_for_about_two_days_then_gives_up():
    attempts, last = simulate()
    assert attempts == 17
    assert last == nominal_elapsed(16) == timedelta(hours=44, minutes=31, seconds=30)
    assert timedelta(hours=40) < last <= RETRY_WINDOW


@pytest.mark.parametrize("rand", [0.0, 0.999999])
def test_schedule__jitter_keeps_it_within_the_two_day_window(rand):
    attempts, last = simulate(lambda: rand)
    assert 15 <= attempts <= 20
    assert timedelta(hours=36) < last <= RETRY_WINDOW


def test_classify__gives_up_when_the_next_try_would_pass_48_hours_from_creation():
    # Given a delivery first tried 47 hours ago (Retry-After waits used the window up)
    created = NOW - timedelta(hours=47)
    # Then a failure whose next try falls past 48 h gives up, a shorter one still retries
    assert run(500, attempts=8, first_try_at=created).kind == "give_up"  # waits 2 h 08
    assert run(500, attempts=0, first_try_at=created).kind == "retry"
    assert run(429, retry_after="7200", first_try_at=created).kind == "give_up"
    assert "gave up after 9 attempts" in run(500, attempts=8, first_try_at=created).error


# --- Parking hosts ---------------------------------------------------------------------------


def test_park_until__needs_six_failures_over_more_than_an_hour():
    assert park_until(5, NOW - timedelta(hours=3), NOW) is None
    assert park_until(50, NOW - timedelta(minutes=59), NOW) is None
    assert park_until(6, NOW - timedelta(minutes=61), NOW) == NOW + timedelta(minutes=61)


def test_park_until__parks_as_long_as_the_host_has_failed_at_most_a_day():
    assert park_until(9, NOW - timedelta(hours=5), NOW) == NOW + timedelta(hours=5)
    assert park_until(40, NOW - timedelta(days=9), NOW) == NOW + PARK_MAX
