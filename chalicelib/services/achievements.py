"""Achievements: threshold, incremental and manual unlocks, each exactly once; rarity from counters.

An unlock is ONE transaction: the player's record (conditioned on not yet unlocked), one
shard of the achievement's unlock counter, and the reward's stat increment. So an unlock
and its reward happen together, once, however many requests race to it. Rarity is
unlocks / players, both sharded counters; players are counted when their profile is
first created (so players who never touched an achievement count too).
"""

from __future__ import annotations

from typing import Any, Literal

from chalicelib.clock import Clock, iso, system_clock
from chalicelib.errors import Forbidden, Invalid, NotFound
from chalicelib.game_config.declarations import AchievementDef, GameConfig
from chalicelib.observability import logger, metrics
from chalicelib.services import notify, stats
from chalicelib.services.hooks import StatChange, stat_changed
from chalicelib.storage.achievements import (
    PLAYERS_COUNTER,
    AchievementRecord,
    AchievementsRepository,
    unlocks_counter,
)
from chalicelib.storage.players import PlayersRepository

Reporter = Literal["client", "server"]


def meets(ach: AchievementDef, value: float) -> bool:
    target = ach.target if ach.target is not None else 0
    return value <= target if ach.comparison == "at_most" else value >= target


def rarity_percent(unlocks: int, players: int) -> float:
    if players <= 0:
        return 0.0
    return round(min(100.0, max(0.0, 100.0 * unlocks / players)), 2)


def achievement_view(
    ach_id: str,
    ach: AchievementDef,
    *,
    record: AchievementRecord | None,
    stat_values: dict[str, float | int],
    unlocks: int,
    players: int,
) -> dict[str, Any]:
    """One achievement as the player sees it; a hidden one shows no details until unlocked."""
    unlocked_at = record.unlocked_at if record is not None else None
    progress: float | None = None
    if ach.kind == "threshold" and ach.stat is not None and ach.target is not None:
        value = stat_values.get(ach.stat, 0)
        progress = ach.target if unlocked_at else (min(value, ach.target) if ach.comparison == "at_least" else value)
    elif ach.kind == "incremental" and ach.target is not None:
        progress = ach.target if unlocked_at else min(record.progress if record is not None else 0, ach.target)
    view: dict[str, Any] = {
        "id": ach_id,
        "kind": ach.kind,
        "hidden": ach.hidden,
        "title": ach.title,
        "description": ach.description,
        "points": ach.points,
        "stat": ach.stat,
        "comparison": ach.comparison if ach.kind == "threshold" else None,
        "progress": progress,
        "target": ach.target,
        "unlocked": bool(unlocked_at),
        "unlocked_at": unlocked_at,
        "rarity_percent": rarity_percent(unlocks, players),
        "reward": {"stat": ach.reward.stat, "amount": ach.reward.amount} if ach.reward else None,
    }
    if ach.hidden and not unlocked_at:
        for key in ("title", "description", "stat", "comparison", "progress", "target", "reward"):
            view[key] = None
    return view


def _unlocked(record: AchievementRecord | None) -> bool:
    return record is not None and bool(record.unlocked_at)


def _unlock(
    *,
    player_id: str,
    ach_id: str,
    config: GameConfig,
    repo: AchievementsRepository,
    players_repo: PlayersRepository,
    clock: Clock,
) -> bool:
    """Unlock once (with its reward); True only for the call that unlocked it."""
    ach = config.achievements[ach_id]
    now = clock()
    reward_update = None
    if ach.reward is not None:
        writes = stats.plan_writes({ach.reward.stat: ach.reward.amount}, config, "server")
        reward_update = players_repo.stats_update(player_id, writes, iso(now))
    outcome = repo.unlock(player_id, ach_id, now=iso(now), progress=ach.target, reward=reward_update)
    if outcome is None:
        return False
    logger.info("achievement unlocked", extra={"achievement": ach_id, "player_id": player_id, "outcome": outcome})
    metrics.add_metric(name="AchievementUnlocks", unit="Count", value=1)
    notify.send(
        notify.Notice(
            player_id=player_id,
            kind="achievement_unlocked",
            title=f"Achievement unlocked: {ach.title}",
            body=ach.description,
            data={"achievement_id": ach_id, "points": ach.points},
            dedupe_key=f"achievement:{ach_id}",
            push_data={"title": ach.title, "description": ach.description},
        )
    )
    if outcome == "rewarded" and ach.reward is not None:
        # The reward is committed; tell the other stat listeners (leaderboards, thresholds).
        values = stats.stats_view(config, players_repo.get_stats(player_id))
        stat_changed(
            StatChange(
                player_id=player_id,
                changed={ach.reward.stat: values[ach.reward.stat]},
                stats=values,
                deltas={ach.reward.stat: ach.reward.amount},
                at=now,
                # Read after the reward's transaction: later updates may be in it.
                exact=False,
            )
        )
    return True


def list_achievements(
    *,
    player_id: str,
    config: GameConfig,
    repo: AchievementsRepository,
    players_repo: PlayersRepository,
    clock: Clock = system_clock,
) -> dict[str, Any]:
    """Every declared achievement with the player's progress, unlock time and rarity.

    A threshold already met but not unlocked (a missed hook) is unlocked here.
    """
    records = repo.records(player_id, bound=len(config.achievements) + 100)
    stat_values = stats.stats_view(config, players_repo.get_stats(player_id))
    for ach_id, ach in config.achievements.items():
        if ach.kind != "threshold" or ach.stat is None or _unlocked(records.get(ach_id)):
            continue
        if meets(ach, stat_values.get(ach.stat, 0)) and _unlock(
            player_id=player_id, ach_id=ach_id, config=config, repo=repo, players_repo=players_repo, clock=clock
        ):
            found = repo.record(player_id, ach_id)
            if found is not None:
                records[ach_id] = found
    counts = repo.counts([*(unlocks_counter(a) for a in config.achievements), PLAYERS_COUNTER])
    players = counts[PLAYERS_COUNTER]
    views = [
        achievement_view(
            ach_id,
            ach,
            record=records.get(ach_id),
            stat_values=stat_values,
            unlocks=counts[unlocks_counter(ach_id)],
            players=players,
        )
        for ach_id, ach in config.achievements.items()
    ]
    unlocked = [v for v in views if v["unlocked"]]
    return {
        "player_id": player_id,
        "achievements": views,
        "unlocked_count": len(unlocked),
        "points_earned": sum(v["points"] for v in unlocked),
        "points_total": sum(a.points for a in config.achievements.values()),
        "players_counted": players,
    }


def _one_view(
    *,
    player_id: str,
    ach_id: str,
    config: GameConfig,
    repo: AchievementsRepository,
    players_repo: PlayersRepository,
) -> dict[str, Any]:
    ach = config.achievements[ach_id]
    counts = repo.counts([unlocks_counter(ach_id), PLAYERS_COUNTER])
    stat_values = stats.stats_view(config, players_repo.get_stats(player_id)) if ach.kind == "threshold" else {}
    return achievement_view(
        ach_id,
        ach,
        record=repo.record(player_id, ach_id),
        stat_values=stat_values,
        unlocks=counts[unlocks_counter(ach_id)],
        players=counts[PLAYERS_COUNTER],
    )


def _definition(config: GameConfig, ach_id: str) -> AchievementDef:
    ach = config.achievements.get(ach_id)
    if ach is None:
        raise NotFound(f"no achievement {ach_id[:60]!r}", code="unknown_achievement")
    return ach


def report_progress(
    *,
    player_id: str,
    achievement_id: str,
    steps: int,
    reporter: Reporter,
    config: GameConfig,
    repo: AchievementsRepository,
    players_repo: PlayersRepository,
    clock: Clock = system_clock,
) -> dict[str, Any]:
    """Add steps to an incremental achievement; unlocks (once) when the target is reached.

    Steps reported after the unlock change nothing (a retried report is harmless).
    """
    ach = _definition(config, achievement_id)
    if ach.kind != "incremental" or ach.target is None:
        raise Invalid(
            f"achievement_id: {achievement_id!r} is a {ach.kind} achievement, it takes no progress reports",
            field="achievement_id",
            code="not_incremental",
        )
    if reporter == "client" and not ach.client_reports:
        raise Forbidden(f"{achievement_id!r} is reported by the game server only", code="server_reported")
    if steps > ach.step_cap:
        raise Invalid(f"steps: at most {ach.step_cap} per report for {achievement_id!r}", field="steps")
    record, applied = repo.add_progress(player_id, achievement_id, steps, iso(clock()))
    unlocked_now = False
    if applied and record.progress >= ach.target:
        unlocked_now = _unlock(
            player_id=player_id, ach_id=achievement_id, config=config, repo=repo, players_repo=players_repo, clock=clock
        )
    view = _one_view(player_id=player_id, ach_id=achievement_id, config=config, repo=repo, players_repo=players_repo)
    return {"achievement": view, "unlocked_now": unlocked_now, "applied": applied}


def grant(
    *,
    player_id: str,
    achievement_id: str,
    config: GameConfig,
    repo: AchievementsRepository,
    players_repo: PlayersRepository,
    clock: Clock = system_clock,
) -> dict[str, Any]:
    """Unlock any achievement for a player (server or admin); granting twice changes nothing."""
    _definition(config, achievement_id)
    granted = _unlock(
        player_id=player_id, ach_id=achievement_id, config=config, repo=repo, players_repo=players_repo, clock=clock
    )
    view = _one_view(player_id=player_id, ach_id=achievement_id, config=config, repo=repo, players_repo=players_repo)
    return {"player_id": player_id, "granted": granted, "achievement": view}


def evaluate_stat_change(
    change: StatChange,
    *,
    config: GameConfig,
    repo: AchievementsRepository,
    players_repo: PlayersRepository,
    clock: Clock = system_clock,
) -> list[str]:
    """Unlock the threshold achievements a stat change reached; returns those this call unlocked.

    A sum stat is checked only on the update that crossed the target (no extra request
    afterwards) when the change knows the exact value it produced; otherwise, and for other
    aggregations, the record is read first (one GetItem) to skip unlocked ones.
    """
    unlocked: list[str] = []
    for ach_id, ach in config.achievements.items():
        if ach.kind != "threshold" or ach.stat is None or ach.stat not in change.changed:
            continue
        value = change.changed[ach.stat]
        if not meets(ach, value):
            continue
        if ach.stat in change.deltas and change.exact:
            if meets(ach, value - change.deltas[ach.stat]):
                continue  # reached by an earlier update
        elif _unlocked(repo.record(player_id=change.player_id, achievement_id=ach_id, consistent=False)):
            continue
        if _unlock(
            player_id=change.player_id, ach_id=ach_id, config=config, repo=repo, players_repo=players_repo, clock=clock
        ):
            unlocked.append(ach_id)
    return unlocked
