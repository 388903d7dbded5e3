"""Matchmaking rules, pure: the skill window, which tickets make a match, how teams are split.

No I/O and no clock: every function takes what it needs, `now` included, so the same input
always gives the same answer.

- skill window: min(initial + growth * seconds searching, max); a group is valid when its
  skill spread (max - min of ticket skills) is within the widest window among its
  tickets, i.e. the window of its longest-waiting ticket.
- a party's skill is the average of its members' skills; it plays in one team.
- group choice: the anchor, then candidates closest in skill first (ties by ticket id),
  each kept when the group still fits the window and can still be packed into teams.
- teams are balanced greedily: bigger parties first, then higher skill first, each into
  the team with room and the lowest skill total (a snake draft for solos), backtracking
  only when parties would not fit.
- a ticket past its timeout reads as `timed_out` before the cleanup job moves it.
"""

from __future__ import annotations

from collections.abc import Sequence

from chalicelib.game_config.declarations import QueueDef
from chalicelib.storage.matchmaking import Ticket

OPEN = ("forming", "searching")
MAX_TEAM_SEARCH = 5000


def effective_status(ticket: Ticket, now: float) -> str:
    """The ticket's status as a client sees it at `now` (an open ticket past its timeout has timed out)."""
    if ticket.status in OPEN and now >= ticket.timeout_at:
        return "timed_out"
    return ticket.status


def window_of(ticket: Ticket, queue: QueueDef, now: float) -> float:
    """How far in skill this ticket accepts others at `now`: widens with its wait, up to the max."""
    since = ticket.searching_since if ticket.searching_since is not None else now
    return queue.window.width(now - since)


def ticket_skill(ticket: Ticket) -> float:
    return float(ticket.skill or 0.0)


def within_window(tickets: Sequence[Ticket], queue: QueueDef, now: float) -> bool:
    """Whether a group's skill spread is inside the widest window among its tickets."""
    skills = [ticket_skill(t) for t in tickets]
    return max(skills) - min(skills) <= max(window_of(t, queue, now) for t in tickets)


def assign_teams(tickets: Sequence[Ticket], queue: QueueDef) -> list[list[Ticket]] | None:
    """Tickets into `queue.teams` teams of `team_size` players, parties kept whole and
    totals balanced; None when they cannot be packed."""
    units = sorted(tickets, key=lambda t: (-t.party_size, -ticket_skill(t), t.ticket_id))
    teams: list[list[Ticket]] = [[] for _ in range(queue.teams)]
    room = [queue.team_size] * queue.teams
    totals = [0.0] * queue.teams
    steps = 0

    def place(i: int) -> bool:
        nonlocal steps
        if i == len(units):
            return True
        unit, size = units[i], units[i].party_size
        tried: set[tuple[int, float]] = set()
        for team in sorted(range(queue.teams), key=lambda k: (totals[k], k)):
            steps += 1
            if room[team] < size or steps > MAX_TEAM_SEARCH or (room[team], totals[team]) in tried:
                continue
            tried.add((room[team], totals[team]))  # identical teams: trying one is enough
            teams[team].append(unit)
            room[team] -= size
            totals[team] += ticket_skill(unit) * size
            if place(i + 1):
                return True
            teams[team].pop()
            room[team] += size
            totals[team] -= ticket_skill(unit) * size
        return False

    if sum(t.party_size for t in units) != queue.match_size or not place(0):
        return None
    return teams


def fits(tickets: Sequence[Ticket], queue: QueueDef) -> bool:
    """Whether the parties could still be packed into teams (first-fit decreasing)."""
    room = [queue.team_size] * queue.teams
    for size in sorted((t.party_size for t in tickets), reverse=True):
        for team, left in enumerate(room):
            if left >= size:
                room[team] -= size
                break
        else:
            return False
    return True


def choose_group(anchor: Ticket, candidates: Sequence[Ticket], queue: QueueDef, now: float) -> list[Ticket] | None:
    """The anchor plus the closest candidates that fill a match inside the window; None
    when they cannot. Candidates are distinct tickets other than the anchor."""
    group = [anchor]
    players = anchor.party_size
    for ticket in sorted(candidates, key=lambda t: (abs(ticket_skill(t) - ticket_skill(anchor)), t.ticket_id)):
        if players == queue.match_size:
            break
        size = ticket.party_size
        if players + size > queue.match_size:
            continue
        trial = [*group, ticket]
        if not within_window(trial, queue, now) or not fits(trial, queue):
            continue
        group, players = trial, players + size
    if players != queue.match_size:
        return None
    return group


def mean_wait(group: Sequence[Ticket], now: float) -> float:
    """How long the group's tickets searched, on average, at `now`."""
    return sum(now - (t.searching_since if t.searching_since is not None else now) for t in group) / len(group)
