"""Player stats: declared stats, each updated atomically by its aggregation."""

from __future__ import annotations

import math
import uuid
from typing import Any, Literal

from chalicelib.clock import Clock, iso, system_clock
from chalicelib.errors import ConditionFailed, Forbidden, Invalid, Throttled
from chalicelib.game_config.declarations import GameConfig, StatDef
from chalicelib.observability import logger, metrics
from chalicelib.services.hooks import StatChange, StatWritePlan, stat_changed, stat_feeds
from chalicelib.storage.players import PlayersRepository, PlayerStats, StatsRefused, StatWrite
from chalicelib.storage.retry import retry

Writer = Literal["client", "server"]
# Attempts of a sum update with fed boards whose entries the same player moves concurrently.
FEED_ATTEMPTS = 25


def stats_view(config: GameConfig, stored: PlayerStats) -> dict[str, float | int]:
    """Every declared stat, stored or default."""
    out: dict[str, float | int] = {}
    for name, stat in config.stats.items():
        value = stored.values.get(name, stat.default)
        out[name] = int(value) if stat.type == "int" else float(value)
    return out


def get_stats(*, player_id: str, config: GameConfig, repo: PlayersRepository) -> dict[str, Any]:
    stored = repo.get_stats(player_id)
    return {"player_id": player_id, "stats": stats_view(config, stored), "updated_at": stored.updated_at}


def _check_value(name: str, stat: StatDef, value: Any) -> float:
    field = f"updates.{name}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Invalid(f"{field}: must be a number", field=field)
    if not math.isfinite(value):
        raise Invalid(f"{field}: must be finite", field=field)
    if stat.type == "int" and value != int(value):
        raise Invalid(f"{field}: must be a whole number", field=field)
    if stat.aggregation == "sum":
        if stat.max_delta is not None and abs(value) > stat.max_delta:
            raise Invalid(f"{field}: change over the cap of {stat.max_delta:g} per request", field=field)
    else:
        if stat.min is not None and value < stat.min:
            raise Invalid(f"{field}: below the minimum {stat.min:g}", field=field)
        if stat.max is not None and value > stat.max:
            raise Invalid(f"{field}: above the maximum {stat.max:g}", field=field)
    return int(value) if stat.type == "int" else float(value)


def plan_writes(updates: dict[str, Any], config: GameConfig, writer: Writer) -> list[StatWrite]:
    """Validate every update first: one bad name or value and nothing is written."""
    writes: list[StatWrite] = []
    for name, raw in updates.items():
        stat = config.stat(name)
        if stat is None:
            raise Invalid(f"updates.{name}: unknown stat", field=f"updates.{name}", code="unknown_stat")
        if stat.writer == "server" and writer != "server":
            raise Forbidden(
                f"updates.{name}: only the game server may write this stat",
                code="server_only_stat",
                details={"field": f"updates.{name}"},
            )
        value = _check_value(name, stat, raw)
        if stat.aggregation == "sum" and value < 0 and writer == "client" and not stat.client_decrease:
            raise Invalid(
                f"updates.{name}: clients may only increase this stat",
                field=f"updates.{name}",
                code="decrease_forbidden",
            )
        if stat.aggregation == "sum":
            hi = stat.max - value if stat.max is not None and value > 0 else None
            lo = stat.min - value if stat.min is not None and value < 0 else None
            start = stat.default + value
            absent_ok = (stat.max is None or start <= stat.max) and (stat.min is None or start >= stat.min)
            writes.append(StatWrite(name, "sum", value, stat.default, hi, lo, absent_ok))
        else:
            writes.append(StatWrite(name, stat.aggregation, value, stat.default))
    return writes


def _out_of_bounds(simple: list[StatWrite], current: PlayerStats) -> Invalid:
    """The 400 naming the sum stat whose stored value made its bound condition fail."""
    for w in simple:
        if w.aggregation != "sum":
            continue
        stored = current.values.get(w.name)
        if (stored is None and not w.absent_ok) or (
            stored is not None
            and (
                (w.stored_at_most is not None and stored > w.stored_at_most)
                or (w.stored_at_least is not None and stored < w.stored_at_least)
            )
        ):
            return Invalid(
                f"updates.{w.name}: would leave the stat's bounds", field=f"updates.{w.name}", code="stat_out_of_bounds"
            )
    return Invalid("updates: would leave a stat's bounds", field="updates", code="stat_out_of_bounds")


def _apply_simple(
    *, player_id: str, simple: list[StatWrite], plan: StatWritePlan, repo: PlayersRepository
) -> tuple[PlayerStats, bool]:
    """Sums and latest values in one conditional write; with the feeds' operations (a sum
    board's entry) in the same transaction, built again when an entry moved meanwhile.

    Returns the stats and whether they are exactly the state this write produced. A
    transaction returns no item, so the stats are read after it; another update of the
    same player can land in between, and then they are not exact.
    """
    now = iso(plan.at)

    def once(_attempt: int) -> tuple[PlayerStats, bool]:
        ops = [op for feed in stat_feeds() for op in feed.ops(plan)]
        try:
            if not ops:
                return repo.apply_stats(player_id, simple, now), True
            write_id = uuid.uuid4().hex
            repo.apply_stats_with(player_id, simple, now, ops, write_id)
            stored = repo.get_stats(player_id)
            return stored, stored.write_id == write_id
        except StatsRefused as refused:
            raise _out_of_bounds(simple, refused.stats) from None
        except ConditionFailed as failed:
            if repo.bounds_refused(failed):
                raise _out_of_bounds(simple, repo.get_stats(player_id)) from None
            # A fed entry moved (the same player's concurrent update): nothing was written.
            raise

    def busy() -> Throttled:
        logger.error("stat feeds busy: stat update refused", extra={"player_id": player_id})
        return Throttled("the stat's leaderboards are busy: nothing was applied, retry", details={"applied": False})

    return retry(once, attempts=FEED_ATTEMPTS, retry_on=(ConditionFailed,), exhausted=busy, base=0.01)


def update_stats(
    *,
    player_id: str,
    updates: dict[str, Any],
    writer: Writer,
    config: GameConfig,
    repo: PlayersRepository,
    clock: Clock = system_clock,
) -> dict[str, Any]:
    """Apply updates atomically, boards fed by the stats moving exactly with them.

    Order makes every failure safe to retry: first the idempotent writes (best/latest
    boards fed by the values sent, then one conditional write per max/min stat, which
    changes nothing unless the value is better), last the one non-idempotent write: sums
    and latest values in one conditional write, in one transaction with the entries of
    the sum boards they feed. Anything refused before that last write leaves no sum applied.
    """
    writes = plan_writes(updates, config, writer)
    now = clock()
    simple = [w for w in writes if w.aggregation in ("sum", "latest")]
    extremes = [w for w in writes if w.aggregation in ("max", "min")]
    plan = StatWritePlan(
        player_id=player_id,
        values={w.name: w.value for w in writes if w.aggregation != "sum"},
        deltas={w.name: w.value for w in writes if w.aggregation == "sum"},
        at=now,
        writer=writer,
    )
    for feed in stat_feeds():
        feed.before(plan)
    stored = PlayerStats(player_id)
    exact = True
    for w in extremes:
        stored = repo.apply_extreme(player_id, w, iso(now))
    if simple:
        stored, exact = _apply_simple(player_id=player_id, simple=simple, plan=plan, repo=repo)
    stats = stats_view(config, stored)
    metrics.add_metric(name="StatUpdates", unit="Count", value=1)
    reactions = stat_changed(
        StatChange(
            player_id=player_id,
            changed={w.name: stats[w.name] for w in writes},
            stats=stats,
            deltas=plan.deltas,
            at=now,
            exact=exact,
        )
    )
    unlocked = [str(a) for a in reactions.get("achievements") or []]
    if any(config.achievements[a].reward is not None for a in unlocked if a in config.achievements):
        # A reward the same update earned: answer the stats with it.
        stored = repo.get_stats(player_id)
        stats = stats_view(config, stored)
    return {"player_id": player_id, "stats": stats, "updated_at": stored.updated_at, "unlocked": unlocked}
