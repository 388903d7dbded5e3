"""Matchmaking: tickets in declared queues, a widening skill window, teams and parties.

Matching runs on ticket create, on join (a party completes) and on every poll: ONE Query
of the sparse `waiting` index (the anchor's skill window, at most `candidate_limit`
tickets, the closest tried first) and ONE transaction claiming every ticket of the group, each
conditioned on still searching; a lost race retries with the remaining candidates.
The rules (window, group choice, teams) are in `matchmaking_rules`, without I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from chalicelib.clock import Clock, iso, system_clock
from chalicelib.errors import ConditionFailed, Conflict, Invalid, NotFound
from chalicelib.game_config.declarations import GameConfig, QueueDef
from chalicelib.observability import logger, metrics
from chalicelib.services.matchmaking_rules import (
    OPEN,
    assign_teams,
    choose_group,
    effective_status,
    mean_wait,
    ticket_skill,
    window_of,
)
from chalicelib.services.notify import Notice, send, signal
from chalicelib.storage.matchmaking import (
    ClaimLost,
    Match,
    MatchedTicket,
    MatchmakingRepository,
    Ticket,
    WaitSample,
    new_match_id,
    new_ticket_id,
)
from chalicelib.storage.players import PlayersRepository
from chalicelib.storage.retry import retry

__all__ = ["assign_teams", "choose_group", "effective_status", "window_of"]

# Kept this long after a ticket or match ends, for polls and the match's players.
RETENTION_SECONDS = 24 * 3600
# Wait samples older than this do not count towards the estimate.
RECENT_SECONDS = 15 * 60
CLAIM_ATTEMPTS = 3

Notifier = Callable[[Notice], None]


def candidate_limit(queue: QueueDef) -> int:
    """How many waiting tickets one attempt looks at: bounded, whatever the queue length."""
    return min(100, max(20, 4 * queue.match_size))


# views --------------------------------------------------------------------------------


def match_view(match: Match) -> dict[str, Any]:
    return {
        "match_id": match.match_id,
        "queue": match.queue,
        "region": match.region,
        "teams": [list(team) for team in match.teams],
        "players": list(match.players),
        "created_at": iso(match.created_at),
    }


def ticket_view(
    ticket: Ticket,
    now: float,
    *,
    queue: QueueDef | None = None,
    match: Match | None = None,
    estimated_wait: float | None = None,
) -> dict[str, Any]:
    status = effective_status(ticket, now)
    return {
        "ticket_id": ticket.ticket_id,
        "queue": ticket.queue,
        "region": ticket.region,
        "status": status,
        "leader": ticket.leader,
        "members": list(ticket.members),
        "joined": list(ticket.joined),
        "created_at": iso(ticket.created_at),
        "timeout_at": iso(ticket.timeout_at),
        "skill_window": round(window_of(ticket, queue, now), 3) if queue and status == "searching" else None,
        "estimated_wait_seconds": estimated_wait if status in OPEN else None,
        "match_id": ticket.match_id,
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
    return float(players.get_stats(player_id).values.get(queue.skill_stat, stat.default))


def _open_ticket_of(player_id: str, repo: MatchmakingRepository, now: float) -> tuple[str | None, Ticket | None]:
    """(the pointer's ticket id, that ticket when it is still open)."""
    pointed = repo.get_active(player_id)
    if pointed is None:
        return None, None
    ticket = repo.get_ticket(pointed)
    if ticket is not None and effective_status(ticket, now) in OPEN:
        return pointed, ticket
    return pointed, None


def _already_active(ticket: Ticket, now: float) -> Conflict:
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
    ticket = Ticket(
        ticket_id=new_ticket_id(player_id),
        queue=queue_id,
        region=region,
        leader=player_id,
        members=tuple(members),
        joined=(player_id,),
        skills={player_id: skill},
        skill=skill if solo else None,
        status="searching" if solo else "forming",
        created_at=now,
        searching_since=now if solo else None,
        timeout_at=now + queue.ticket_timeout_seconds,
        expires_at=int(now + queue.ticket_timeout_seconds + RETENTION_SECONDS),
    )
    try:
        repo.create_ticket(ticket, replaces=pointed)
    except ConditionFailed:
        _, open_ticket = _open_ticket_of(player_id, repo, now)
        if open_ticket is not None:
            raise _already_active(open_ticket, now) from None
        raise Conflict("another ticket was created at the same time, retry", code="ticket_race") from None
    logger.info(
        "ticket created",
        extra={"ticket_id": ticket.ticket_id, "queue": queue_id, "region": region, "party_size": len(members)},
    )
    metrics.add_metric(name="TicketsCreated", unit="Count", value=1)
    match = attempt_match(ticket=ticket, queue=queue, repo=repo, clock=clock, notify=notify) if solo else None
    if match is not None:
        ticket = dataclasses.replace(ticket, status="matched", match_id=match.match_id)
    return ticket_view(
        ticket,
        now,
        queue=queue,
        match=match,
        estimated_wait=None if match else estimated_wait(queue_id=queue_id, region=region, repo=repo, clock=clock),
    )


def _visible_ticket(ticket_id: str, player_id: str, repo: MatchmakingRepository) -> Ticket:
    ticket = repo.get_ticket(ticket_id)
    if ticket is None or player_id not in ticket.members:
        raise NotFound("no such ticket")  # someone else's ticket is not revealed
    return ticket


def _with_match(ticket: Ticket, repo: MatchmakingRepository) -> Match | None:
    return repo.get_match(ticket.match_id) if ticket.match_id else None


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
    queue = config.queues.get(ticket.queue)
    now = clock()
    status = effective_status(ticket, now)
    match: Match | None = None
    if status == "searching" and queue is not None:
        match = attempt_match(ticket=ticket, queue=queue, repo=repo, clock=clock, notify=notify)
        if match is None:
            ticket = repo.get_ticket(ticket_id) or ticket  # someone may have matched it meanwhile
    elif status == "timed_out" and ticket.status in OPEN:
        ended = repo.end_ticket(ticket_id, status="timed_out", now=now, only_if_past_timeout=True)
        if ended is not None:
            _timed_out(ended)
    if match is not None:
        ticket = dataclasses.replace(ticket, status="matched", match_id=match.match_id)
    elif ticket.match_id:
        match = _with_match(ticket, repo)
    status = effective_status(ticket, now)
    wait = (
        estimated_wait(queue_id=ticket.queue, region=ticket.region, repo=repo, clock=clock) if status in OPEN else None
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
    queue = config.queues.get(ticket.queue)
    now = clock()
    if player_id in ticket.joined:
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
    skills = {**ticket.skills, player_id: skill}
    # The last member to join completes the party: it searches with the members' mean skill.
    search_skill = sum(skills.values()) / len(skills) if len(skills) == len(ticket.members) else None
    try:
        repo.join_ticket(ticket, player_id=player_id, skill=skill, search_skill=search_skill, replaces=pointed, now=now)
    except ConditionFailed:
        current = repo.get_ticket(ticket_id) or ticket
        raise Conflict(
            "the party or your active ticket changed, retry",
            code="join_race",
            details=ticket_view(current, now, queue=queue),
        ) from None
    ticket = dataclasses.replace(ticket, joined=(*ticket.joined, player_id), skills=skills)
    if search_skill is not None:
        ticket = dataclasses.replace(ticket, status="searching", skill=search_skill, searching_since=now)
        match = attempt_match(ticket=ticket, queue=queue, repo=repo, clock=clock, notify=notify)
        if match is not None:
            ticket = dataclasses.replace(ticket, status="matched", match_id=match.match_id)
            return ticket_view(ticket, now, queue=queue, match=match)
    return ticket_view(
        ticket,
        now,
        queue=queue,
        estimated_wait=estimated_wait(queue_id=ticket.queue, region=ticket.region, repo=repo, clock=clock),
    )


def cancel_ticket(
    *, player_id: str, ticket_id: str, config: GameConfig, repo: MatchmakingRepository, clock: Clock = system_clock
) -> dict[str, Any]:
    """Cancel an open ticket (any of its party may); 409 with the match once matched."""
    ticket = _visible_ticket(ticket_id, player_id, repo)
    queue = config.queues.get(ticket.queue)
    now = clock()
    if effective_status(ticket, now) in OPEN and repo.end_ticket(ticket_id, status="cancelled", now=now):
        logger.info("ticket cancelled", extra={"ticket_id": ticket_id})
        return ticket_view(dataclasses.replace(ticket, status="cancelled"), now, queue=queue)
    ticket = repo.get_ticket(ticket_id) or ticket
    if ticket.status == "matched":
        raise Conflict(
            "the ticket is already matched",
            code="already_matched",
            details=ticket_view(ticket, now, queue=queue, match=_with_match(ticket, repo)),
        )
    return ticket_view(ticket, now, queue=queue)


def get_match(*, player_id: str, match_id: str, repo: MatchmakingRepository) -> dict[str, Any]:
    """A match, for its players only."""
    match = repo.get_match(match_id)
    if match is None or player_id not in match.players:
        raise NotFound("no such match")
    return match_view(match)


def estimated_wait(
    *, queue_id: str, region: str, repo: MatchmakingRepository, clock: Clock = system_clock
) -> float | None:
    """The mean wait of recent matches in this queue and region; None without any."""
    now = clock()
    waits = [s.wait for s in repo.wait_samples(queue_id, region) if now - s.at <= RECENT_SECONDS]
    return round(sum(waits) / len(waits), 1) if waits else None


def attempt_match(
    *,
    ticket: Ticket,
    queue: QueueDef,
    repo: MatchmakingRepository,
    clock: Clock = system_clock,
    notify: Notifier = send,
) -> Match | None:
    """One match attempt anchored on a searching ticket: one Query, then one transaction
    (a few more only when other requests won some of the candidates). The match, or None."""
    now = clock()
    width = window_of(ticket, queue, now)
    skill = ticket_skill(ticket)
    found = repo.waiting(
        ticket.queue, ticket.region, low=skill - width, high=skill + width, limit=candidate_limit(queue)
    )
    pool = [t for t in found if t.ticket_id != ticket.ticket_id and effective_status(t, now) == "searching"]

    def claim(_attempt: int) -> tuple[Match, list[Ticket], float] | None:
        nonlocal pool
        group = choose_group(ticket, pool, queue, now)
        teams = assign_teams(group, queue) if group is not None else None
        if group is None or teams is None:
            return None
        match = Match(
            match_id=new_match_id(),
            queue=ticket.queue,
            region=ticket.region,
            teams=tuple(tuple(p for t in team for p in t.members) for team in teams),
            players=tuple(p for t in group for p in t.members),
            tickets=tuple(
                MatchedTicket(
                    ticket_id=t.ticket_id, skill=ticket_skill(t), searching_since=float(t.searching_since or now)
                )
                for t in group
            ),
            created_at=now,
            expires_at=int(now + RETENTION_SECONDS),
        )
        waited = mean_wait(group, now)
        try:
            repo.claim(group, match, WaitSample(wait=round(waited, 3), at=now), now)
        except ClaimLost as lost:
            if ticket.ticket_id in lost.lost:
                return None  # the anchor itself was matched or cancelled meanwhile
            pool = [t for t in pool if t.ticket_id not in lost.lost]
            raise  # other requests won some candidates: try again with the rest
        return match, group, waited

    try:
        made = retry(claim, attempts=CLAIM_ATTEMPTS, retry_on=(ClaimLost,), exhausted=_NoMatch, first_pause=False)
    except _NoMatch:
        return None
    if made is None:
        return None
    match, group, waited = made
    logger.info(
        "match made",
        extra={
            "match_id": match.match_id,
            "queue": ticket.queue,
            "region": ticket.region,
            "players": len(match.players),
            "waited": round(waited, 3),
        },
    )
    metrics.add_metric(name="MatchesMade", unit="Count", value=1)
    ticket_of = {p: t.ticket_id for t in group for p in t.members}
    teams_view = [list(team) for team in match.teams]
    for player in match.players:
        # The claim has committed: each player is told now (inbox, and pushed if connected).
        notify(
            Notice(
                player_id=player,
                kind="match_found",
                title="Match found",
                body=f"Your {ticket.queue} match in {ticket.region} is ready.",
                data={"match_id": match.match_id, "queue": ticket.queue, "region": ticket.region},
                dedupe_key=f"match:{match.match_id}:{player}",
                push_data={"ticket_id": ticket_of[player], "teams": teams_view, "players": list(match.players)},
            )
        )
    return match


class _NoMatch(Exception):
    """Every claim lost candidates to other requests."""


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
        if open_ticket.queue == queue_id and open_ticket.region == region:
            view = poll_ticket(
                player_id=player_id,
                ticket_id=open_ticket.ticket_id,
                config=config,
                repo=repo,
                clock=clock,
                notify=notify,
            )
            if view["status"] in (*OPEN, "matched"):
                return _seed_answer(view, player_id, queue_id)
        else:
            cancel_ticket(player_id=player_id, ticket_id=open_ticket.ticket_id, config=config, repo=repo, clock=clock)
    elif pointed is not None:
        last = repo.get_ticket(pointed)
        if (
            last is not None
            and last.status == "matched"
            and last.queue == queue_id
            and now - (last.matched_at or 0.0) <= SEED_MATCH_MEMORY_SECONDS
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


def _timed_out(ticket: Ticket) -> None:
    """Tell the ticket's players, pushed only: polling shows the same status."""
    signal(
        list(ticket.members),
        "ticket_timed_out",
        {"ticket_id": ticket.ticket_id, "queue": ticket.queue, "region": ticket.region},
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
