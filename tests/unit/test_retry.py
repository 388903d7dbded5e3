"""The one bounded retry of a conditional read-modify-write."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from chalicelib.errors import ConditionFailed, Conflict, Throttled
from chalicelib.storage import retry as retry_module
from chalicelib.storage.retry import backoff, retry


class Lost(Exception):
    pass


def _never_sleep(seconds: float) -> None:  # pragma: no cover - a failure if called
    raise AssertionError(f"slept {seconds}")


def test_returns_the_first_success_and_pauses_between_lost_races():
    pauses: list[float] = []
    calls: list[int] = []

    def attempt(n: int) -> str:
        calls.append(n)
        if n < 2:
            raise Lost
        return "done"

    assert retry(attempt, attempts=5, retry_on=(Lost,), exhausted=RuntimeError, sleep=pauses.append) == "done"
    assert calls == [0, 1, 2]
    assert len(pauses) == 2 and all(0 <= p <= 0.2 for p in pauses)


def test_bounded_then_the_call_sites_error():
    calls: list[int] = []

    def attempt(n: int) -> None:
        calls.append(n)
        raise ConditionFailed()

    with pytest.raises(Conflict) as raised:
        retry(attempt, attempts=4, retry_on=(ConditionFailed,), exhausted=lambda: Conflict("busy"), sleep=lambda _: None)
    assert calls == [0, 1, 2, 3]
    assert isinstance(raised.value.__cause__, ConditionFailed)


def test_no_pause_after_the_last_attempt_and_none_before_the_first_retry_when_asked():
    pauses: list[float] = []

    def attempt(n: int) -> None:
        raise Lost

    with pytest.raises(RuntimeError):
        retry(attempt, attempts=3, retry_on=(Lost,), exhausted=RuntimeError, sleep=pauses.append, first_pause=False)
    assert len(pauses) == 1  # between attempts 1 and 2 only


def test_other_errors_propagate_at_once():
    calls: list[int] = []

    def attempt(n: int) -> None:
        calls.append(n)
        raise ValueError("bad")

    with pytest.raises(ValueError):
        retry(attempt, attempts=5, retry_on=(Lost,), exhausted=RuntimeError, sleep=_never_sleep)
    assert calls == [0]


@pytest.mark.parametrize(
    "exc",
    [
        Throttled(),
        ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "UpdateItem"),
        ClientError({"Error": {"Code": "ThrottlingException"}}, "TransactWriteItems"),
    ],
)
def test_throttling_is_never_retried_even_when_the_predicate_accepts_it(exc):
    calls: list[int] = []

    def attempt(n: int) -> None:
        calls.append(n)
        raise exc

    with pytest.raises(type(exc)):
        retry(attempt, attempts=5, retry_on=lambda e: True, exhausted=RuntimeError, sleep=_never_sleep)
    assert calls == [0]


def test_a_predicate_chooses_what_is_a_lost_race():
    def attempt(n: int) -> int:
        if n == 0:
            raise ConditionFailed(reasons=["TransactionConflict"])
        return n

    got = retry(
        attempt,
        attempts=2,
        retry_on=lambda e: isinstance(e, ConditionFailed) and "TransactionConflict" in e.reasons,
        exhausted=RuntimeError,
        sleep=lambda _: None,
    )
    assert got == 1


def test_backoff_is_jittered_and_capped(monkeypatch):
    seen: list[tuple[float, float]] = []
    monkeypatch.setattr(retry_module.random, "uniform", lambda lo, hi: seen.append((lo, hi)) or hi)
    assert backoff(0) == 0.02
    assert backoff(3) == 0.16
    assert backoff(10) == 0.2
    assert backoff(10, cap=1.0) == 1.0
    assert all(lo == 0 for lo, _ in seen)


def test_at_least_one_attempt():
    with pytest.raises(ValueError):
        retry(lambda n: n, attempts=0, retry_on=(Lost,), exhausted=RuntimeError)
