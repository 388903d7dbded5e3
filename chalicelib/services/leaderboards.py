"""Leaderboards: declared boards, exact ranks from counters, periods closed on schedule.

Ranking convention: entries are listed by score (the board's order), then by the time
the score was reached (earlier first), then by player id. A rank is 1 + the number of
entries with a strictly better score, so equal scores share a rank and the next score
skips the shared places (1, 2, 2, 4: standard competition ranking). That keeps every rank
exact at a cost that does not grow with ties: one read of the counter path, never a count
of a tie group.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from chalicelib.clock import Clock, iso, system_clock
from chalicelib.errors import ConditionFailed, Conflict, Forbidden, Invalid, NotFound, Throttled
from chalicelib.game_config.declarations import BoardDef, GameConfig
from chalicelib.observability import logger, metrics
from chalicelib.services import cursors, notify, periods
from chalicelib.services.players import default_display_name
from chalicelib.storage.leaderboards import ArchivedPeriod, Entry, Layout, LeaderboardsRepository, Standing
from chalicelib.storage.retry import retry

Writer = Literal["client", "server"]
Names = Callable[[list[str]], dict[str, str]]

MAX_LIMIT = 100
MAX_AROUND = 25
MAX_IDS = 100
SUBMIT_ATTEMPTS = 5
# A stat's feed retries a busy best/latest entry this many times SUBMIT_ATTEMPTS.
FEED_ROUNDS = 4
# A period is closed this long after its end, so a submission in flight at the boundary lands first.
CLOSE_GRACE_SECONDS = 60
# The close job catches up at most this many missed periods per board and run.
MAX_CATCH_UP = 62
_PLAYER_ID = re.compile(r"^[\w\-:.@]{1,128}$")


def board_of(config: GameConfig, board_id: str) -> BoardDef:
    board = config.board(board_id)
    if board is None:
        raise NotFound(f"no leaderboard {board_id!r}", code="unknown_board")
    return board


def period_param(board: BoardDef, period: str | None, now: float) -> str:
    """The requested period (validated), or the current one."""
    if period is None:
        return periods.period_of(board.reset, now)
    try:
        return periods.parse(board.reset, period)
    except ValueError as exc:
        raise Invalid(f"period: {exc}", field="period") from None


# scores ---------------------------------------------------------------------------------


def _as_score(board: BoardDef, value: Decimal) -> float:
    return int(value) if board.decimals == 0 else float(value)


def _checked(board: BoardDef, value: float, field: str) -> Decimal:
    """The value as an exact decimal with at most the board's decimals."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Invalid(f"{field}: must be a number", field=field)
    exact = Decimal(repr(value))
    if not exact.is_finite():
        raise Invalid(f"{field}: must be finite", field=field)
    try:
        rounded = exact.quantize(Decimal(1).scaleb(-board.decimals))
    except InvalidOperation:
        raise Invalid(f"{field}: out of range", field=field) from None
    if rounded != exact:
        raise Invalid(f"{field}: at most {board.decimals} decimals", field=field)
    return exact


def _in_bounds(board: BoardDef, value: Decimal, field: str) -> None:
    if value < Decimal(repr(board.min)) or value > Decimal(repr(board.max)):
        raise Invalid(f"{field}: outside the board's bounds [{board.min:g}, {board.max:g}]", field=field)


def _better(board: BoardDef, new: float, old: float) -> bool:
    return new > old if board.order == "desc" else new < old


def next_entry(
    board: BoardDef, layout: Layout, old: Entry | None, value: Decimal, player_id: str, now: float
) -> Entry | None:
    """The entry after a submission by the write mode, or None when nothing changes.

    The time of an entry is when its score was reached: a resubmitted equal score keeps it.
    """
    if board.write_mode == "sum":
        if value == 0 and old is not None:
            return None
        total = (Decimal(repr(old.score)) if old else Decimal(0)) + value
        _in_bounds(board, total, "score")
        score = _as_score(board, total)
    else:
        score = _as_score(board, value)
        if old is not None and (
            old.score == score or (board.write_mode == "best" and not _better(board, score, old.score))
        ):
            return None
    return Entry(
        player_id=player_id,
        score=score,
        key=layout.order_key(score),
        reached_ms=int(now * 1000),
        version=(old.version + 1) if old else 1,
        updated_at=iso(now),
    )


# views ----------------------------------------------------------------------------------


def run_ranks(entries: list[Entry], ahead_first: int, at_first: int) -> list[int]:
    """Ranks of a contiguous run of entries in index order, from two counts for the first
    entry's score: the entries with a better score and the entries with the same score.
    Every score group after the first lies wholly inside the run."""
    ranks: list[int] = []
    passed = 0  # entries of the run outside the first score group, before the current one
    for i, entry in enumerate(entries):
        if entry.key == entries[0].key:
            ranks.append(1 + ahead_first)
        elif entry.key == entries[i - 1].key:
            ranks.append(ranks[-1])
        else:
            ranks.append(1 + ahead_first + at_first + passed)
        if entry.key != entries[0].key:
            passed += 1
    return ranks


def _view(entry: Entry, rank: int | None, names: dict[str, str]) -> dict[str, Any]:
    return {
        "rank": rank,
        "player_id": entry.player_id,
        "display_name": names.get(entry.player_id) or default_display_name(entry.player_id),
        "score": entry.score,
        "reached_at": iso(entry.reached_ms / 1000),
    }


def _names_of(names: Names, ids: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), 100):
        found.update(names(unique[start : start + 100]))
    return found


# use cases ------------------------------------------------------------------------------


def describe_boards(*, config: GameConfig, clock: Clock = system_clock) -> dict[str, Any]:
    """Every board with its current period and next reset."""
    now = clock()
    boards = []
    for board_id, board in config.leaderboards.items():
        period = periods.period_of(board.reset, now)
        start, end = periods.bounds(board.reset, period)
        boards.append(
            {
                "id": board_id,
                **board.client_view(),
                "current_period": period,
                "period_started_at": iso(start) if start is not None else None,
                "next_reset_at": iso(end) if end is not None else None,
            }
        )
    return {"leaderboards": boards}


def _apply(
    board_id: str,
    board: BoardDef,
    layout: Layout,
    player_id: str,
    value: Decimal,
    now: float,
    repo: LeaderboardsRepository,
    attempts: int = SUBMIT_ATTEMPTS,
) -> tuple[Entry | None, bool]:
    """Apply a value by the board's write mode (optimistic, re-read on conflict): the entry
    and whether it changed."""

    def once(_attempt: int) -> tuple[Entry | None, bool]:
        old = repo.get_entry(layout, player_id)
        new = next_entry(board, layout, old, value, player_id, now)
        if new is None:
            return old, False
        # ConditionFailed: the same player's concurrent write won; apply ours on top of it.
        repo.write_entry(layout, old, new)
        return new, True

    return retry(
        once,
        attempts=attempts,
        retry_on=(ConditionFailed,),
        exhausted=lambda: Conflict("the entry kept changing; retry", details={"board": board_id}),
        base=0.01,
        first_pause=False,
    )


def submit_score(
    *,
    board_id: str,
    board: BoardDef,
    player_id: str,
    score: float,
    writer: Writer,
    repo: LeaderboardsRepository,
    names: Names,
    clock: Clock = system_clock,
    rank: bool = True,
) -> dict[str, Any]:
    """Apply a score by the board's write mode; the entry and its exact rank (with
    `rank=False`, no rank read: the entry's rank and the total are None)."""
    if board.writer == "server" and writer != "server":
        raise Forbidden("only the game server may submit to this board", code="server_only_board")
    if board.source_stat is not None and not board.direct_scores and writer != "server":
        raise Forbidden(
            f"this board follows the stat {board.source_stat!r}: update the stat instead",
            code="board_fed_by_stat",
            details={"source_stat": board.source_stat},
        )
    value = _checked(board, score, "score")
    if board.write_mode == "sum":
        if writer == "client" and board.max_delta is not None and abs(value) > Decimal(repr(board.max_delta)):
            raise Invalid(f"score: change over the cap of {board.max_delta:g} per submission", field="score")
    else:
        _in_bounds(board, value, "score")
    now = clock()
    layout = Layout.of(board_id, board, periods.period_of(board.reset, now))
    entry, changed = _apply(board_id, board, layout, player_id, value, now, repo)
    assert entry is not None
    place: int | None = None
    total: int | None = None
    if rank:
        ranks, total = repo.ranks(layout, [entry])
        place = ranks[player_id]
    metrics.add_metric(name="ScoresSubmitted", unit="Count", value=1)
    logger.info("score submitted", extra={"board": board_id, "period": layout.period, "changed": changed})
    return {
        "board": board_id,
        "period": layout.period,
        "changed": changed,
        "entry": _view(entry, place, names([player_id])),
        "total_entries": total,
    }


def top(
    *,
    board_id: str,
    board: BoardDef,
    limit: int,
    cursor: str | None,
    period: str | None,
    repo: LeaderboardsRepository,
    names: Names,
    clock: Clock = system_clock,
) -> dict[str, Any]:
    """A page of the best entries; ranks are exact (the page's first rank from counters)."""
    layout = Layout.of(board_id, board, period_param(board, period, clock()))
    limit = max(1, min(limit, MAX_LIMIT))
    after = None
    scope = {"list": "leaderboard", "board": board_id, "period": layout.period}
    if cursor is not None:
        after = cursors.decode(
            cursor, scope, valid=lambda p: set(p) == {"after"} and repo.is_page_position(p["after"])
        )["after"]
    entries, more = repo.page(layout, after, limit)
    if after is None:
        # The first page starts at the best score: its first group is whole on the page.
        counts = repo.counts(layout, [])
        ahead, tied = 0, sum(1 for e in entries if e.key == entries[0].key)
    else:
        counts = repo.counts(layout, [e.key for e in entries[:1]])
        ahead, tied = (counts.ahead(entries[0].key), counts.at(entries[0].key)) if entries else (0, 0)
    total = counts.total
    ranks = run_ranks(entries, ahead, tied)
    shown = _names_of(names, [e.player_id for e in entries])
    return {
        "board": board_id,
        "period": layout.period,
        "entries": [_view(e, r, shown) for e, r in zip(entries, ranks, strict=True)],
        "next_cursor": cursors.encode(scope, {"after": entries[-1].sort_key}) if more and entries else None,
        "total_entries": total,
    }


def standing(
    *,
    board_id: str,
    board: BoardDef,
    player_id: str,
    around: int,
    period: str | None,
    repo: LeaderboardsRepository,
    names: Names,
    clock: Clock = system_clock,
) -> dict[str, Any]:
    """The player's entry, exact rank and up to `around` neighbours each side."""
    layout = Layout.of(board_id, board, period_param(board, period, clock()))
    around = max(0, min(around, MAX_AROUND))
    entry = repo.get_entry(layout, player_id)
    if entry is None:
        total = repo.counts(layout, []).total
        return {"board": board_id, "period": layout.period, "entry": None, "entries": [], "total_entries": total}
    ahead, behind = repo.neighbours(layout, entry, around)
    run = [*reversed(ahead), entry, *behind]
    # One counter read for the window's first score ranks the whole window; the player's
    # own path is read with it so the player's rank never depends on the index's lag.
    counts = repo.counts(layout, [run[0].key, entry.key])
    ranks = run_ranks(run, counts.ahead(run[0].key), counts.at(run[0].key))
    rank, total = 1 + counts.ahead(entry.key), counts.total
    shown = _names_of(names, [e.player_id for e in run])
    window = [_view(e, rank if e is entry else r, shown) for e, r in zip(run, ranks, strict=True)]
    return {
        "board": board_id,
        "period": layout.period,
        "entry": _view(entry, rank, shown),
        "entries": window,
        "total_entries": total,
    }


def parse_ids(raw: str) -> list[str]:
    ids = [p.strip() for p in raw.split(",") if p.strip()]
    if not ids:
        raise Invalid("ids: give at least one player id", field="ids")
    if len(ids) > MAX_IDS:
        raise Invalid(f"ids: at most {MAX_IDS} player ids", field="ids")
    for pid in ids:
        if not _PLAYER_ID.match(pid):
            raise Invalid("ids: not a player id", field="ids")
    return list(dict.fromkeys(ids))


def chosen_players(
    *,
    board_id: str,
    board: BoardDef,
    player_ids: list[str],
    period: str | None,
    repo: LeaderboardsRepository,
    names: Names,
    clock: Clock = system_clock,
) -> dict[str, Any]:
    """Entries of chosen players (a friends list), best first; players without one are left out."""
    layout = Layout.of(board_id, board, period_param(board, period, clock()))
    entries = sorted(repo.get_entries(layout, player_ids).values(), key=lambda e: e.sort_key)
    ranks, total = repo.ranks(layout, entries)
    shown = _names_of(names, [e.player_id for e in entries])
    return {
        "board": board_id,
        "period": layout.period,
        "entries": [_view(e, ranks[e.player_id], shown) for e in entries],
        "total_entries": total,
    }


def _period_view(board: BoardDef, archived: ArchivedPeriod, shown: dict[str, str]) -> dict[str, Any]:
    return {
        "period": archived.period,
        "status": archived.status,
        "started_at": archived.started_at,
        "ended_at": archived.ended_at,
        "closed_at": archived.closed_at,
        "total_entries": archived.total_entries,
        "top": [
            {
                "rank": t.rank,
                "player_id": t.player_id,
                "display_name": shown.get(t.player_id) or default_display_name(t.player_id),
                "score": t.score,
                "reached_at": iso(t.reached_ms / 1000),
            }
            for t in archived.top
        ],
    }


def archived_periods(
    *,
    board_id: str,
    board: BoardDef,
    limit: int,
    cursor: str | None,
    repo: LeaderboardsRepository,
    names: Names,
) -> dict[str, Any]:
    """Closed periods, newest first, each with its final top standings."""
    limit = max(1, min(limit, 20))
    before = None
    scope = {"list": "periods", "board": board_id}
    if cursor is not None:
        before = cursors.decode(cursor, scope, valid=lambda p: set(p) == {"before"} and _is_period(board, p["before"]))[
            "before"
        ]
    records, last = repo.list_periods(board_id, before, limit)
    shown = _names_of(names, [t.player_id for r in records for t in r.top])
    return {
        "board": board_id,
        "periods": [_period_view(board, r, shown) for r in records],
        "next_cursor": cursors.encode(scope, {"before": last}) if last else None,
    }


def _is_period(board: BoardDef, period: Any) -> bool:
    try:
        return isinstance(period, str) and periods.parse(board.reset, period) is not None
    except ValueError:
        return False


# period close ---------------------------------------------------------------------------


def close_period(
    *,
    board_id: str,
    board: BoardDef,
    period: str,
    repo: LeaderboardsRepository,
    clock: Clock = system_clock,
    send: Callable[[notify.Notice], None] = notify.send,
) -> bool:
    """Archive one ended period and tell its top players; False if it was archived already."""
    if repo.get_period(board_id, period) is not None:
        return False
    layout = Layout.of(board_id, board, period)
    entries, _ = repo.page(layout, None, max(board.notify_top, 10))
    total = repo.counts(layout, []).total
    final = run_ranks(entries, 0, sum(1 for e in entries if e.key == entries[0].key))
    start, end = periods.bounds(board.reset, period)
    title = board.title or board_id
    for rank, entry in zip(final[: board.notify_top], entries, strict=False):
        # The dedupe key makes a rerun after a crash (before the archive) a no-op per player.
        send(
            notify.Notice(
                player_id=entry.player_id,
                kind="leaderboard_period_ended",
                title=f"{title}: you finished #{rank}",
                body=f"The {period} period of {title} has ended.",
                data={"board": board_id, "period": period, "rank": rank, "score": entry.score},
                dedupe_key=f"leaderboard:{board_id}:{period}:{entry.player_id}",
            )
        )
    archived = ArchivedPeriod(
        board=board_id,
        period=period,
        status="closed",
        started_at=iso(start) if start is not None else None,
        ended_at=iso(end) if end is not None else None,
        closed_at=iso(clock()),
        total_entries=total,
        top=tuple(
            Standing(rank=r, player_id=e.player_id, score=e.score, reached_ms=e.reached_ms)
            for r, e in zip(final, entries, strict=True)
        ),
    )
    created = repo.create_period(archived)
    if created:
        logger.info("period closed", extra={"board": board_id, "period": period, "entries": total})
    return created


def close_ended_periods(
    *,
    config: GameConfig,
    repo: LeaderboardsRepository,
    clock: Clock = system_clock,
    send: Callable[[notify.Notice], None] = notify.send,
) -> list[dict[str, str]]:
    """The scheduled job: archive every period that has ended; idempotent and late-safe."""
    closed = []
    now = clock()
    for board_id, board in config.leaderboards.items():
        if board.reset == "none":
            continue
        target = periods.previous(board.reset, periods.period_of(board.reset, now - CLOSE_GRACE_SECONDS))
        last = repo.last_closed(board_id)
        if last is not None and last >= target:
            continue
        todo = [target]
        while last is not None and len(todo) < MAX_CATCH_UP:
            earlier = periods.previous(board.reset, todo[0])
            if earlier <= last:
                break
            todo.insert(0, earlier)
        for period in todo:
            if close_period(board_id=board_id, board=board, period=period, repo=repo, clock=clock, send=send):
                closed.append({"board": board_id, "period": period})
        repo.mark_closed(board_id, target)
    return closed


# hooks ----------------------------------------------------------------------------------


def _fed_value(board: BoardDef, value: float) -> Decimal:
    rounded = round(value, board.decimals) if board.decimals else round(value)
    return _checked(board, rounded, "score")


def follow_stats(
    *,
    config: GameConfig,
    player_id: str,
    values: dict[str, float],
    repo: LeaderboardsRepository,
    clock: Clock = system_clock,
    rounds: int = FEED_ROUNDS,
) -> list[str]:
    """The idempotent part of a stat update's feeds: best and latest boards take the value
    sent for their stat. Done before the stat is written; raises Throttled (nothing else
    written yet, safe to retry) if a board's entry keeps changing. The boards that changed.
    """
    written = []
    now = clock()
    for board_id, board in config.leaderboards.items():
        stat = board.source_stat
        if stat is None or stat not in values or board.write_mode == "sum":
            continue
        value = _fed_value(board, values[stat])
        _in_bounds(board, value, f"updates.{stat}")
        layout = Layout.of(board_id, board, periods.period_of(board.reset, now))
        try:
            _, changed = _apply(board_id, board, layout, player_id, value, now, repo, attempts=rounds * SUBMIT_ATTEMPTS)
        except Conflict:
            logger.error("board busy: stat update refused", extra={"board": board_id, "stat": stat})
            raise Throttled(
                f"the leaderboard {board_id!r} is busy: nothing was applied, retry",
                details={"board": board_id, "applied": False},
            ) from None
        if changed:
            written.append(board_id)
    return written


def sum_feed_ops(
    *,
    config: GameConfig,
    player_id: str,
    deltas: dict[str, float],
    repo: LeaderboardsRepository,
    now: float,
) -> list[dict[str, Any]]:
    """The non-idempotent part: each sum board following a changed sum stat moves by the
    same delta, in the stat update's own transaction (so never more, never less). Reads the
    entries; a conflict makes the caller build them again. Invalid if a board would leave
    its bounds (then nothing is written)."""
    ops: list[dict[str, Any]] = []
    for board_id, board in config.leaderboards.items():
        stat = board.source_stat
        if stat is None or stat not in deltas or board.write_mode != "sum" or not deltas[stat]:
            continue
        value = _fed_value(board, deltas[stat])
        layout = Layout.of(board_id, board, periods.period_of(board.reset, now))
        old = repo.get_entry(layout, player_id)
        try:
            new = next_entry(board, layout, old, value, player_id, now)
        except Invalid:
            raise Invalid(
                f"updates.{stat}: the leaderboard {board_id!r} would leave its bounds",
                field=f"updates.{stat}",
                code="board_out_of_bounds",
            ) from None
        if new is not None:
            ops += repo.entry_ops(layout, old, new)
    return ops


def remove_entry(
    *,
    board_id: str,
    board: BoardDef,
    player_id: str,
    period: str | None,
    repo: LeaderboardsRepository,
    clock: Clock = system_clock,
) -> dict[str, Any]:
    """Remove one player's entry (an admin's action against a cheater): the entry and its
    counters leave in one transaction, so the ranks behind it close up exactly. Idempotent."""
    layout = Layout.of(board_id, board, period_param(board, period, clock()))
    removed = _remove(
        layout,
        player_id,
        repo.get_entry(layout, player_id),
        repo,
        exhausted=lambda: Conflict("the entry keeps changing, retry shortly", code="busy"),
    )
    archived = layout.period != periods.ALL and repo.remove_from_period(board_id, layout.period, player_id)
    if removed is not None:
        logger.info("entry removed", extra={"board": board_id, "period": layout.period, "player_id": player_id})
    return {
        "board": board_id,
        "period": layout.period,
        "player_id": player_id,
        "removed": removed is not None,
        "score": removed.score if removed is not None else None,
        "removed_from_archive": archived,
    }


class _StillChanging(Exception):
    """The entry changed under every attempt to remove it."""


def _remove(
    layout: Layout,
    player_id: str,
    seen: Entry | None,
    repo: LeaderboardsRepository,
    *,
    exhausted: Callable[[], Exception],
) -> Entry | None:
    """Remove the entry last seen as `seen`, re-reading it when it changed meanwhile: what
    was removed (None when there was nothing)."""
    current = [seen]

    def once(attempt: int) -> Entry | None:
        if attempt:
            current[0] = repo.get_entry(layout, player_id)
        entry = current[0]
        if entry is not None:
            repo.write_entry(layout, entry, None)
        return entry

    return retry(once, attempts=SUBMIT_ATTEMPTS, retry_on=(ConditionFailed,), exhausted=exhausted, first_pause=False)


def erase_player(*, config: GameConfig, player_id: str, repo: LeaderboardsRepository) -> int:
    """Remove every entry of a player, fixing the counters, and drop them from archives."""
    erased = 0
    for board_id, period, entry in repo.player_entries(player_id):
        board = config.board(board_id)
        if board is None:  # a board no longer declared: its counters are unread
            repo.delete_entry_item(player_id, board_id, period)
            erased += 1
            continue
        layout = Layout.of(board_id, board, period)
        with contextlib.suppress(_StillChanging):
            _remove(layout, player_id, entry, repo, exhausted=_StillChanging)
        erased += 1
        if board is not None and period != periods.ALL:
            repo.remove_from_period(board_id, period, player_id)
    return erased
