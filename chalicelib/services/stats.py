"""Player stats: declared stats, each updated atomically by its aggregation."""

from __future__ import annotations

import math
from typing import Any, Literal

from chalicelib.clock import Clock, iso, system_clock
from chalicelib.errors import ConditionFailed, Forbidden, Invalid
from chalicelib.game_config.schema import GameConfig, StatDef
from chalicelib.observability import metrics
from chalicelib.services.hooks import StatChange, stat_changed
from chalicelib.storage.players import STAT_PREFIX, PlayersRepository, StatWrite

Writer = Literal["client", "server"]


def stats_view(config: GameConfig, item: dict[str, Any]) -> dict[str, float | int]:
    """Every declared stat, stored or default."""
    out: dict[str, float | int] = {}
    for name, stat in config.stats.items():
        value = item.get(STAT_PREFIX + name, stat.default)
        out[name] = int(value) if stat.type == "int" else float(value)
    return out


def get_stats(*, player_id: str, config: GameConfig, repo: PlayersRepository) -> dict[str, Any]:
    item = repo.get_stats(player_id)
    return {"player_id": player_id, "stats": stats_view(config, item), "updated_at": item.get("updated_at")}


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
        if stat.aggregation == "sum":
            hi = stat.max - value if stat.max is not None and value > 0 else None
            lo = stat.min - value if stat.min is not None and value < 0 else None
            start = stat.default + value
            absent_ok = (stat.max is None or start <= stat.max) and (stat.min is None or start >= stat.min)
            writes.append(StatWrite(name, "sum", value, stat.default, hi, lo, absent_ok))
        else:
            writes.append(StatWrite(name, stat.aggregation, value, stat.default))
    return writes


def update_stats(
    *,
    player_id: str,
    updates: dict[str, Any],
    writer: Writer,
    config: GameConfig,
    repo: PlayersRepository,
    clock: Clock = system_clock,
) -> dict[str, Any]:
    """Apply updates atomically: sums and latest values in one conditional write, then
    one conditional write per max/min stat (only if the value is better)."""
    writes = plan_writes(updates, config, writer)
    now = clock()
    item: dict[str, Any] = {}
    simple = [w for w in writes if w.aggregation in ("sum", "latest")]
    extremes = [w for w in writes if w.aggregation in ("max", "min")]
    if simple:
        try:
            item = repo.apply_stats(player_id, simple, iso(now))
        except ConditionFailed as failed:
            current = failed.item or {}
            for w in simple:
                if w.aggregation != "sum":
                    continue
                stored = current.get(STAT_PREFIX + w.name)
                if stored is None and not w.absent_ok:
                    raise Invalid(
                        f"updates.{w.name}: would leave the stat's bounds",
                        field=f"updates.{w.name}",
                        code="stat_out_of_bounds",
                    ) from None
                if stored is not None and (
                    (w.stored_at_most is not None and stored > w.stored_at_most)
                    or (w.stored_at_least is not None and stored < w.stored_at_least)
                ):
                    raise Invalid(
                        f"updates.{w.name}: would leave the stat's bounds",
                        field=f"updates.{w.name}",
                        code="stat_out_of_bounds",
                    ) from None
            raise Invalid("updates: would leave a stat's bounds", field="updates", code="stat_out_of_bounds") from None
    for w in extremes:
        item = repo.apply_extreme(player_id, w, iso(now))
    stats = stats_view(config, item)
    metrics.add_metric(name="StatUpdates", unit="Count", value=1)
    stat_changed(
        StatChange(
            player_id=player_id,
            changed={w.name: stats[w.name] for w in writes},
            stats=stats,
            deltas={w.name: w.value for w in writes if w.aggregation == "sum"},
            at=now,
        )
    )
    return {"player_id": player_id, "stats": stats, "updated_at": item.get("updated_at")}
