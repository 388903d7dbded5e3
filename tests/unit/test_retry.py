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
        retry(
            attempt, attempts=4, retry_on=(ConditionFailed,), exhausted=lambda: Conflict("busy"), sleep=lambda _: None
        )
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


class _Client:
    """Answers TransactWriteItems with the given errors in turn, then succeeds; counts calls."""

    def __init__(self, *errors: ClientError) -> None:
        self.errors = list(errors)
        self.calls = 0

    def transact_write_items(self, **_kwargs: object) -> dict:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return {}


def _cancelled(*codes: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": "TransactionCanceledException"}, "CancellationReasons": [{"Code": c} for c in codes]},  # type: ignore[typeddict-unknown-key]
        "TransactWriteItems",
    )


@pytest.fixture
def no_pauses(monkeypatch):
    pauses: list[float] = []
    monkeypatch.setattr(retry_module.time, "sleep", pauses.append)
    return pauses


def test_a_leaderboard_write_is_not_retried_over_botocores_throttling_retries(no_pauses):
    from chalicelib.storage.leaderboards import LeaderboardsRepository

    client = _Client(
        *[ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "TransactWriteItems")] * 9
    )
    with pytest.raises(ClientError):
        LeaderboardsRepository(client=client, table="t")._transact([])  # type: ignore[arg-type]
    assert client.calls == 1 and no_pauses == []
    throttled_item = _Client(*[_cancelled("None", "ThrottlingError")] * 9)
    with pytest.raises(Throttled):
        LeaderboardsRepository(client=throttled_item, table="t")._transact([])  # type: ignore[arg-type]
    assert throttled_item.calls == 1


def test_a_leaderboard_write_that_lost_a_counter_race_is_retried_bounded(no_pauses):
    from chalicelib.storage.leaderboards import LeaderboardsRepository

    client = _Client(_cancelled("None", "TransactionConflict"), _cancelled("TransactionConflict"))
    LeaderboardsRepository(client=client, table="t")._transact([])  # type: ignore[arg-type]
    assert client.calls == 3 and len(no_pauses) == 2
    busy = _Client(*[_cancelled("None", "TransactionConflict")] * 9)
    with pytest.raises(Throttled):
        LeaderboardsRepository(client=busy, table="t")._transact([], attempts=4)  # type: ignore[arg-type]
    assert busy.calls == 4
