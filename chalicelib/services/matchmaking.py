"""Matchmaking: tickets in declared queues, a widening skill window, teams and parties.

Matching runs on ticket create, on join (a party completes) and on every poll: ONE Query
of the sparse `waiting` index (the anchor's skill window, at most `candidate_limit`
tickets, the closest tried first) and ONE transaction claiming every ticket of the group, each
conditioned on still searching; a lost race retries with the remaining candidates.

Conventions:
- skill window: min(initial + growth * seconds searching, max); a group is valid when its
  skill spread (max - min of ticket skills) is within the widest window among its
  tickets, i.e. the window of its longest-waiting ticket.
- a party's skill is the average of its members' skills; it plays in one team.
- teams are balanced greedily: bigger parties first, then higher skill first, each into
  the team with room and the lowest skill total (a snake draft for solos).
- a ticket past its timeout reads as `timed_out` before the cleanup job moves it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.clock import Clock, iso, system_clock
from chalicelib.errors import ConditionFailed, Conflict, Invalid, NotFound
from chalicelib.game_config.schema import GameConfig, QueueDef
from chalicelib.observability import logger, metrics
from chalicelib.services.notify import Notice, send, signal
from chalicelib.storage.matchmaking import ClaimLost, MatchmakingRepository, new_match_id, new_ticket_id
from chalicelib.storage.players import STAT_PREFIX, PlayersRepository

OPEN = ("forming", "searching")
# Kept this long after a ticket or match ends, for polls and the match's players.
RETENTION_SECONDS = 24 * 3600
# Wait samples older than this do not count towards the estimate.
RECENT_SECONDS = 15 * 60
CLAIM_ATTEMPTS = 3
MAX_TEAM_SEARCH = 5000

Notifier = Callable[[Notice], None]


def candidate_limit(queue: QueueDef) -> int:
    """How many waiting tickets one attempt looks at: bounded, whatever the queue length."""
    return min(100, max(20, 4 * queue.match_size))


# pure logic ---------------------------------------------------------------------------


def effective_status(ticket: dict[str, Any], now: float) -> str:
    status = str(ticket["status"])
    if status in OPEN and now >= float(ticket["timeout_at"]):
        return "timed_out"
    return status


def window_of(ticket: dict[str, Any], queue: QueueDef, now: float) -> float:
    return queue.window.width(now - float(ticket.get("searching_since") or now))


def party_size(ticket: dict[str, Any]) -> int:
    return len(ticket["members"])


def assign_teams(tickets: list[dict[str, Any]], queue: QueueDef) -> list[list[dict[str, Any]]] | None:
    """Tickets into `queue.teams` teams of `team_size` players, parties kept whole and
    totals balanced; None when they cannot be packed."""
    units = sorted(tickets, key=lambda t: (-party_size(t), -float(t["skill"]), t["ticket_id"]))
    teams: list[list[dict[str, Any]]] = [[] for _ in range(queue.teams)]
    room = [queue.team_size] * queue.teams
    totals = [0.0] * queue.teams
    steps = 0

    def place(i: int) -> bool:
        nonlocal steps
        if i == len(units):
            return True
        unit, size = units[i], party_size(units[i])
        tried: set[tuple[int, float]] = set()
        for team in sorted(range(queue.teams), key=lambda k: (totals[k], k)):
            steps += 1
            if room[team] < size or steps > MAX_TEAM_SEARCH or (room[team], totals[team]) in tried:
                continue
            tried.add((room[team], totals[team]))  # identical teams: trying one is enough
            teams[team].append(unit)
            room[team] -= size
            totals[team] += float(unit["skill"]) * size
            if place(i + 1):
                return True
            teams[team].pop()
            room[team] += size
            totals[team] -= float(unit["skill"]) * size
        return False

    if sum(party_size(t) for t in units) != queue.match_size or not place(0):
        return None
    return teams


def _fits(tickets: list[dict[str, Any]], queue: QueueDef) -> bool:
    """Whether the parties could still be packed into teams (first-fit decreasing)."""
    room = [queue.team_size] * queue.teams
    for size in sorted((party_size(t) for t in tickets), reverse=True):
        for team, left in enumerate(room):
            if left >= size:
                room[team] -= size
                break
        else:
            return False
    return True


def choose_group(
    anchor: dict[str, Any], candidates: list[dict[str, Any]], queue: QueueDef, now: float
) -> list[dict[str, Any]] | None:
    """The anchor plus the closest candidates that fill a match inside the window."""
    group = [anchor]
    players = party_size(anchor)
    for ticket in sorted(candidates, key=lambda t: (abs(float(t["skill"]) - float(anchor["skill"])), t["ticket_id"])):
        if players == queue.match_size:
            break
        size = party_size(ticket)
        if players + size > queue.match_size:
            continue
        trial = [*group, ticket]
        skills = [float(t["skill"]) for t in trial]
        if max(skills) - min(skills) > max(window_of(t, queue, now) for t in trial):
            continue
        if not _fits(trial, queue):
            continue
        group, players = trial, players + size
    if players != queue.match_size:
        return None
    return group


# views --------------------------------------------------------------------------------


def match_view(match: dict[str, Any]) -> dict[str, Any]:
    return {
        "match_id": match["match_id"],
        "queue": match["queue"],
        "region": match["region"],
        "teams": match["teams"],
        "players": match["players"],
        "created_at": iso(float(match["created_at"])),
    }


def ticket_view(
    ticket: dict[str, Any],
    now: float,
    *,
    queue: QueueDef | None = None,
    match: dict[str, Any] | None = None,
    estimated_wait: float | None = None,
) -> dict[str, Any]:
    status = effective_status(ticket, now)
    return {
        "ticket_id": ticket["ticket_id"],
        "queue": ticket["queue"],
        "region": ticket["region"],
        "status": status,
        "leader": ticket["leader"],
        "members": ticket["members"],
        "joined": ticket["joined"],
        "created_at": iso(float(ticket["created_at"])),
        "timeout_at": iso(float(ticket["timeout_at"])),
        "skill_window": round(window_of(ticket, queue, now), 3) if queue and status == "searching" else None,
        "estimated_wait_seconds": estimated_wait if status in OPEN else None,
        "match_id": ticket.get("match_id"),
        "match": match_view(match) if match else None,
    }


# services -----------------------------------------------------------------------------


def queue_of(config: GameConfig, queue_id: str, region: str) -> QueueDef:
    queue = config.queues.get(queue_id)
    if queue is None:
        raise Invalid(
            f"queue: unknown queue {queue_id!r}",
            field="queue",
            code="unknown_queue",
            details={"field": "queue", "queues": sorted(config.queues)},
        )
    if region not in queue.regions:
        raise Invalid(
            f"region: {region!r} is not a region of queue {queue_id!r}",
            field="region",
            code="unknown_region",
            details={"field": "region", "regions": queue.regions},
        )
    return queue


def skill_of(player_id: str, queue: QueueDef, config: GameConfig, players: PlayersRepository) -> float:
    """The server's skill for a player: the queue's stat, or its default rating."""
    if queue.skill_stat is None:
        return float(queue.default_rating)
    stat = config.stats[queue.skill_stat]
    return float(players.get_stats(player_id).get(STAT_PREFIX + queue.skill_stat, stat.default))


def _open_ticket_of(
    player_id: str, repo: MatchmakingRepository, now: float
) -> tuple[str | None, dict[str, Any] | None]:
    """(the pointer's ticket id, that ticket when it is still open)."""
    pointed = repo.get_active(player_id)
    if pointed is None:
        return None, None
    ticket = repo.get_ticket(pointed)
    if ticket is not None and effective_status(ticket, now) in OPEN:
        return pointed, ticket
    return pointed, None


def _already_active(ticket: dict[str, Any], now: float) -> Conflict:
    return Conflict("you already have an active ticket", code="active_ticket", details=ticket_view(ticket, now))


def create_ticket(
    *,
    player_id: str,
    queue_id: str,
    region: str,
    party: list[str] | None,
    config: GameConfig,
    repo: MatchmakingRepository,
    players: PlayersRepository,
    clock: Clock = system_clock,
    notify: Notifier = send,
) -> dict[str, Any]:
    """Create the caller's ticket (409 with the existing one if they have an open ticket),
    then try to match it at once."""
    queue = queue_of(config, queue_id, region)
    members = [player_id, *(party or [])]
    if party:
        if len(set(members)) != len(members):
            raise Invalid("party: lists a player twice, or the leader", field="party")
        if len(members) > queue.max_party_size:
            raise Invalid(
                f"party: queue {queue_id!r} takes parties of at most {queue.max_party_size}",
                field="party",
                code="party_too_large",
            )
    now = clock()
    pointed, open_ticket = _open_ticket_of(player_id, repo, now)
    if open_ticket is not None:
        raise _already_active(open_ticket, now)
    skill = skill_of(player_id, queue, config, players)
    solo = len(members) == 1
    ticket: dict[str, Any] = {
        "ticket_id": new_ticket_id(player_id),
        "queue": queue_id,
        "region": region,
        "leader": player_id,
        "members": members,
        "joined": [player_id],
        "skills": {player_id: skill},
        "skill": skill if solo else None,
        "status": "searching" if solo else "forming",
        "created_at": now,
        "searching_since": now if solo else None,
        "timeout_at": now + queue.ticket_timeout_seconds,
        "expires_at": int(now + queue.ticket_timeout_seconds + RETENTION_SECONDS),
    }
    try:
        repo.create_ticket(ticket, replaces=pointed, expires_at=ticket["expires_at"])
    except ConditionFailed:
        _, open_ticket = _open_ticket_of(player_id, repo, now)
        if open_ticket is not None:
            raise _already_active(open_ticket, now) from None
        raise Conflict("another ticket was created at the same time, retry", code="ticket_race") from None
    logger.info(
        "ticket created",
        extra={"ticket_id": ticket["ticket_id"], "queue": queue_id, "region": region, "party_size": len(members)},
    )
    metrics.add_metric(name="TicketsCreated", unit="Count", value=1)
    match = attempt_match(ticket=ticket, queue=queue, repo=repo, clock=clock, notify=notify) if solo else None
    if match is not None:
        ticket = {**ticket, "status": "matched", "match_id": match["match_id"]}
    return ticket_view(
        ticket,
        now,
        queue=queue,
        match=match,
        estimated_wait=None if match else estimated_wait(queue_id=queue_id, region=region, repo=repo, clock=clock),
    )


def _visible_ticket(ticket_id: str, player_id: str, repo: MatchmakingRepository) -> dict[str, Any]:
    ticket = repo.get_ticket(ticket_id)
    if ticket is None or player_id not in ticket["members"]:
        raise NotFound("no such ticket")  # someone else's ticket is not revealed
    return ticket


def _with_match(ticket: dict[str, Any], repo: MatchmakingRepository) -> dict[str, Any] | None:
    return repo.get_match(ticket["match_id"]) if ticket.get("match_id") else None


def poll_ticket(
    *,
    player_id: str,
    ticket_id: str,
    config: GameConfig,
    repo: MatchmakingRepository,
    clock: Clock = system_clock,
    notify: Notifier = send,
) -> dict[str, Any]:
    """A ticket's status; a searching ticket gets a match attempt first (its window has widened)."""
    ticket = _visible_ticket(ticket_id, player_id, repo)
    queue = config.queues.get(ticket["queue"])
    now = clock()
    status = effective_status(ticket, now)
    match: dict[str, Any] | None = None
    if status == "searching" and queue is not None:
        match = attempt_match(ticket=ticket, queue=queue, repo=repo, clock=clock, notify=notify)
        if match is None:
            ticket = repo.get_ticket(ticket_id) or ticket  # someone may have matched it meanwhile
    elif status == "timed_out" and ticket["status"] in OPEN:
        ended = repo.end_ticket(ticket_id, status="timed_out", now=now, only_if_past_timeout=True)
        if ended is not None:
            _timed_out(ended)
    if match is not None:
        ticket = {**ticket, "status": "matched", "match_id": match["match_id"]}
    elif ticket.get("match_id"):
        match = _with_match(ticket, repo)
    status = effective_status(ticket, now)
    wait = (
        estimated_wait(queue_id=ticket["queue"], region=ticket["region"], repo=repo, clock=clock)
        if status in OPEN
        else None
    )
    return ticket_view(ticket, now, queue=queue, match=match, estimated_wait=wait)


def join_ticket(
    *,
    player_id: str,
    ticket_id: str,
    config: GameConfig,
    repo: MatchmakingRepository,
    players: PlayersRepository,
    clock: Clock = system_clock,
    notify: Notifier = send,
) -> dict[str, Any]:
    """A party member confirms, with their own token; the last one starts the search."""
    ticket = _visible_ticket(ticket_id, player_id, repo)
    queue = config.queues.get(ticket["queue"])
    now = clock()
    if player_id in ticket["joined"]:
        return ticket_view(ticket, now, queue=queue, match=_with_match(ticket, repo))
    if effective_status(ticket, now) != "forming" or queue is None:
        raise Conflict(
            "this party is no longer forming",
            code="not_forming",
            details=ticket_view(ticket, now, queue=queue, match=_with_match(ticket, repo)),
        )
    pointed, open_ticket = _open_ticket_of(player_id, repo, now)
    if open_ticket is not None:
        raise _already_active(open_ticket, now)
    skill = skill_of(player_id, queue, config, players)
    skills = {**ticket["skills"], player_id: skill}
    complete = None
    if len(skills) == len(ticket["members"]):
        complete = {
            "skill": sum(skills.values()) / len(skills),
            "searching_since": now,
            "wpk": f"{ticket['queue']}#{ticket['region']}",
        }
    try:
        repo.join_ticket(
            ticket_id,
            player_id=player_id,
            skill=skill,
            joined_before=len(ticket["joined"]),
            complete=complete,
            replaces=pointed,
            now=now,
            expires_at=int(ticket["expires_at"]),
        )
    except ConditionFailed:
        current = repo.get_ticket(ticket_id) or ticket
        raise Conflict(
            "the party or your active ticket changed, retry",
            code="join_race",
            details=ticket_view(current, now, queue=queue),
        ) from None
    ticket = {**ticket, "joined": [*ticket["joined"], player_id], "skills": skills}
    if complete is not None:
        ticket.update(status="searching", skill=complete["skill"], searching_since=now)
        match = attempt_match(ticket=ticket, queue=queue, repo=repo, clock=clock, notify=notify)
        if match is not None:
            ticket = {**ticket, "status": "matched", "match_id": match["match_id"]}
            return ticket_view(ticket, now, queue=queue, match=match)
    return ticket_view(
        ticket,
        now,
        queue=queue,
        estimated_wait=estimated_wait(queue_id=ticket["queue"], region=ticket["region"], repo=repo, clock=clock),
    )


def cancel_ticket(
    *, player_id: str, ticket_id: str, config: GameConfig, repo: MatchmakingRepository, clock: Clock = system_clock
) -> dict[str, Any]:
    """Cancel an open ticket (any of its party may); 409 with the match once matched."""
    ticket = _visible_ticket(ticket_id, player_id, repo)
    queue = config.queues.get(ticket["queue"])
    now = clock()
    if effective_status(ticket, now) in OPEN and repo.end_ticket(ticket_id, status="cancelled", now=now):
        logger.info("ticket cancelled", extra={"ticket_id": ticket_id})
        return ticket_view({**ticket, "status": "cancelled"}, now, queue=queue)
    ticket = repo.get_ticket(ticket_id) or ticket
    if ticket["status"] == "matched":
        raise Conflict(
            "the ticket is already matched",
            code="already_matched",
            details=ticket_view(ticket, now, queue=queue, match=_with_match(ticket, repo)),
        )
    return ticket_view(ticket, now, queue=queue)


def get_match(*, player_id: str, match_id: str, repo: MatchmakingRepository) -> dict[str, Any]:
    """A match, for its players only."""
    match = repo.get_match(match_id)
    if match is None or player_id not in match["players"]:
        raise NotFound("no such match")
    return match_view(match)


def estimated_wait(
    *, queue_id: str, region: str, repo: MatchmakingRepository, clock: Clock = system_clock
) -> float | None:
    """The mean wait of recent matches in this queue and region; None without any."""
    now = clock()
    waits = [float(s["wait"]) for s in repo.wait_samples(queue_id, region) if now - float(s["at"]) <= RECENT_SECONDS]
    return round(sum(waits) / len(waits), 1) if waits else None


def attempt_match(
    *,
    ticket: dict[str, Any],
    queue: QueueDef,
    repo: MatchmakingRepository,
    clock: Clock = system_clock,
    notify: Notifier = send,
) -> dict[str, Any] | None:
    """One match attempt anchored on a searching ticket: one Query, then one transaction
    (a few more only when other requests won some of the candidates). The match, or None."""
    now = clock()
    width = window_of(ticket, queue, now)
    skill = float(ticket["skill"])
    found = repo.waiting(
        ticket["queue"], ticket["region"], low=skill - width, high=skill + width, limit=candidate_limit(queue)
    )
    pool = [t for t in found if t["ticket_id"] != ticket["ticket_id"] and effective_status(t, now) == "searching"]
    for _ in range(CLAIM_ATTEMPTS):
        group = choose_group(ticket, pool, queue, now)
        if group is None:
            return None
        teams = assign_teams(group, queue)
        if teams is None:
            return None
        match_id = new_match_id()
        match = {
            "match_id": match_id,
            "queue": ticket["queue"],
            "region": ticket["region"],
            "teams": [[p for t in team for p in t["members"]] for team in teams],
            "players": [p for t in group for p in t["members"]],
            "tickets": [
                {
                    "ticket_id": t["ticket_id"],
                    "skill": float(t["skill"]),
                    "searching_since": float(t["searching_since"]),
                }
                for t in group
            ],
            "created_at": now,
            "expires_at": int(now + RETENTION_SECONDS),
        }
        waited = sum(now - float(t["searching_since"]) for t in group) / len(group)
        try:
            repo.claim(group, match, {"wait": round(waited, 3), "at": now}, now)
        except ClaimLost as lost:
            if ticket["ticket_id"] in lost.lost:
                return None  # the anchor itself was matched or cancelled meanwhile
            pool = [t for t in pool if t["ticket_id"] not in lost.lost]
            continue
        logger.info(
            "match made",
            extra={
                "match_id": match_id,
                "queue": ticket["queue"],
                "region": ticket["region"],
                "players": len(match["players"]),
                "waited": round(waited, 3),
            },
        )
        metrics.add_metric(name="MatchesMade", unit="Count", value=1)
        ticket_of = {p: t["ticket_id"] for t in group for p in t["members"]}
        for player in match["players"]:
            # The claim has committed: each player is told now (inbox, and pushed if connected).
            notify(
                Notice(
                    player_id=player,
                    kind="match_found",
                    title="Match found",
                    body=f"Your {ticket['queue']} match in {ticket['region']} is ready.",
                    data={"match_id": match_id, "queue": ticket["queue"], "region": ticket["region"]},
                    dedupe_key=f"match:{match_id}:{player}",
                    push_data={"ticket_id": ticket_of[player], "teams": match["teams"], "players": match["players"]},
                )
            )
        return match
    return None


# The seed client re-sends its search: a match made this recently is reported again.
SEED_MATCH_MEMORY_SECONDS = 60
SEED_DEFAULT_WAIT_SECONDS = 30.0


def _seed_answer(view: dict[str, Any], player_id: str, queue_id: str) -> dict[str, Any]:
    match = view.get("match")
    if view["status"] == "matched" and match:
        mine: list[str] = next((team for team in match["teams"] if player_id in team), [])
        opponent = next((p for p in match["players"] if p not in mine), None)
        return {
            "status": "match_found",
            "match_id": match["match_id"],
            "opponent_id": opponent,
            "game_mode": queue_id,
            "estimated_wait_time": 0,
        }
    wait = view.get("estimated_wait_seconds")
    return {
        "status": "searching",
        "request_id": view["ticket_id"],
        "game_mode": queue_id,
        "estimated_wait_time": SEED_DEFAULT_WAIT_SECONDS if wait is None else wait,
    }


def seed_search(
    *,
    player_id: str,
    queue_id: str,
    region: str,
    config: GameConfig,
    repo: MatchmakingRepository,
    players: PlayersRepository,
    clock: Clock = system_clock,
    notify: Notifier = send,
) -> dict[str, Any]:
    """The seed's `/matchmaking`: poll the caller's open ticket in that queue, report a
    match made in the last minute, or create a ticket. An open ticket elsewhere is cancelled."""
    queue_of(config, queue_id, region)
    now = clock()
    pointed, open_ticket = _open_ticket_of(player_id, repo, now)
    if open_ticket is not None:
        if open_ticket["queue"] == queue_id and open_ticket["region"] == region:
            view = poll_ticket(
                player_id=player_id,
                ticket_id=open_ticket["ticket_id"],
                config=config,
                repo=repo,
                clock=clock,
                notify=notify,
            )
            if view["status"] in (*OPEN, "matched"):
                return _seed_answer(view, player_id, queue_id)
        else:
            cancel_ticket(
                player_id=player_id, ticket_id=open_ticket["ticket_id"], config=config, repo=repo, clock=clock
            )
    elif pointed is not None:
        last = repo.get_ticket(pointed)
        if (
            last is not None
            and last["status"] == "matched"
            and last["queue"] == queue_id
            and now - float(last.get("matched_at", 0)) <= SEED_MATCH_MEMORY_SECONDS
        ):
            return _seed_answer(ticket_view(last, now, match=_with_match(last, repo)), player_id, queue_id)
    try:
        view = create_ticket(
            player_id=player_id,
            queue_id=queue_id,
            region=region,
            party=None,
            config=config,
            repo=repo,
            players=players,
            clock=clock,
            notify=notify,
        )
    except Conflict as conflict:  # a concurrent request of the same client created one
        view = conflict.details
    return _seed_answer(view, player_id, queue_id)


def _timed_out(ticket: dict[str, Any]) -> None:
    """Tell the ticket's players, pushed only: polling shows the same status."""
    if "members" in ticket:
        signal(
            list(ticket["members"]),
            "ticket_timed_out",
            {"ticket_id": ticket["ticket_id"], "queue": ticket["queue"], "region": ticket["region"]},
        )


def time_out_tickets(
    *, config: GameConfig, repo: MatchmakingRepository, clock: Clock = system_clock, max_per_queue: int = 1000
) -> int:
    """The cleanup job: open tickets past their timeout become `timed_out` and leave the index."""
    now = clock()
    moved = 0
    for queue_id, queue in config.queues.items():
        for region in queue.regions:
            seen = 0
            while seen < max_per_queue:
                ids = repo.past_timeout(queue_id, region, now)
                if not ids:
                    break
                for ticket_id in ids:
                    ended = repo.end_ticket(ticket_id, status="timed_out", now=now, only_if_past_timeout=True)
                    if ended is not None:
                        _timed_out(ended)
                        moved += 1
                seen += len(ids)
    if moved:
        logger.info("tickets timed out", extra={"count": moved})
    return moved


def erase_player(*, player_id: str, repo: MatchmakingRepository, clock: Clock = system_clock) -> int:
    """Cancel the player's open ticket (a party's too), then delete their items."""
    now = clock()
    pointed, open_ticket = _open_ticket_of(player_id, repo, now)
    if pointed is not None and open_ticket is not None:
        repo.end_ticket(pointed, status="cancelled", now=now)
    return repo.erase(player_id)
