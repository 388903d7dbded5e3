"""Realtime: what it costs a player to go from ticket to match, polling vs push.

In-process moto with every table, the app's own services, a fake clock. One queue of N
players (N = 2 and 8, all of one skill, so the match forms when the last one arrives);
players arrive one every ARRIVAL_SECONDS; the first waits (N-1) x ARRIVAL_SECONDS.

- poll: today's client (`PollOptions`: a poll right after the ticket, then every 1 s
  growing x1.5 up to 8 s, jitter averaged out) polls until it reads `matched`. Every poll
  is an HTTP request and a Lambda invocation (token check, account status, ticket read,
  a match attempt on the widened window).
- push: the player opens a WebSocket (connect and disconnect counted), creates the ticket,
  pings every HEARTBEAT_SECONDS while it waits, and learns of the match from the
  `match_found` push sent by the request that made the match (no request of its own).
  Polling happens only while the socket is down, which this benchmark does not simulate.
- push_session: the same with the socket already open for the session (a game connects
  once at start): its connect and disconnect are not counted against the match.

Counted per player (the mean over the N players): HTTP requests, WebSocket messages
(API Gateway bills connects, client messages and pushes), Lambda invocations, DynamoDB
requests and items read (botocore hooks on the app's client). Then the same per 1,000
daily players per day, for a profile of MATCHES_PER_DAY matches each.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from typing import Any

from bench.harness import Figure, count_requests
from bench.moto_env import moto_tables
from chalicelib.game_config import declarations, get_game_config
from chalicelib.game_config.declarations import GameConfig
from chalicelib.game_config.schema import QueueDef
from chalicelib.observability import logger
from chalicelib.services import account_status, notify, realtime
from chalicelib.services import matchmaking as mm
from chalicelib.services.tokens import Claims
from chalicelib.storage import aws
from chalicelib.storage.connections import ConnectionsRepository
from chalicelib.storage.matchmaking import MatchmakingRepository
from chalicelib.storage.players import PlayersRepository

ARRIVAL_SECONDS = 10.0
MATCHES_PER_DAY = 5
SIZES = (2, 8)
START = 1_800_000_000.0
POLL_FIRST, POLL_GROWTH, POLL_MAX = 1.0, 1.5, 8.0


def poll_times(created: float, until: float) -> list[float]:
    """Today's client: a poll at once, then growing intervals; the first poll at or after `until` ends it."""
    times, t, interval = [created], created, POLL_FIRST
    while t < until:
        t += interval
        interval = min(POLL_MAX, interval * POLL_GROWTH)
        times.append(t)
    return times


class CountingConnections:
    """The `@connections` API: counts the pushes (each a billed WebSocket message)."""

    def __init__(self) -> None:
        self.posted: Counter[str] = Counter()

    def post_to_connection(self, *, ConnectionId: str, Data: bytes) -> None:
        self.posted[ConnectionId] += 1

    def delete_connection(self, *, ConnectionId: str) -> None:
        pass


def _config(size: int, mode: str) -> tuple[GameConfig, str]:
    config = get_game_config()
    queue = declarations.from_model(
        declarations.QueueDef,
        QueueDef.model_validate(
            {
                "teams": 2,
                "team_size": size // 2,
                "regions": ["eu-west-1"],
                "default_rating": 1000,
                "window": {"initial": 100, "growth_per_second": 0, "max": 100},
                "ticket_timeout_seconds": 600,
            }
        ),
    )
    # A queue per scenario: a queue's ring of recent waits (a match's slot is drawn from its
    # random id) would otherwise hold the earlier scenarios' samples, one fewer when two
    # collide, and the items read would change from run to run.
    queue_id = f"bench{size}{mode.replace('_', '')}"
    return dataclasses.replace(config, queues={**config.queues, queue_id: queue}), queue_id


def _connect(player: str, when: float, connections: ConnectionsRepository, players: PlayersRepository) -> None:
    """The $connect handler's work past the token (which needs no store): status, then the item."""
    claims = Claims(sub=player, username=player, groups=(), token_use="id", raw={})

    def verify(headers: dict[str, str]) -> Claims:
        account_status.check_active(player_id=claims.sub, repo=players)
        return claims

    realtime.connect(connection_id=f"c-{player}", token="t", repo=connections, authenticate=verify, clock=lambda: when)


def _scenario(size: int, mode: str, run: str = "") -> dict[str, float]:
    config, queue_id = _config(size, mode)
    repo, players, connections = MatchmakingRepository(), PlayersRepository(), ConnectionsRepository()
    gateway = CountingConnections()
    pushing = mode.startswith("push")
    notify.register_pusher(
        realtime.Pusher(repo=lambda: connections, api=lambda: gateway if pushing else None)  # type: ignore[arg-type,return-value]
    )
    ids = [f"bench-{run}{mode}-{size}-{i}" for i in range(size)]
    arrivals = [START + i * ARRIVAL_SECONDS for i in range(size)]
    matched_at = arrivals[-1]
    http = ws_messages = lambdas = 0

    def request() -> None:
        """What every HTTP request costs before its service runs (the token needs no store)."""
        nonlocal http, lambdas
        http += 1
        lambdas += 1

    # Every action of every player, in time order: (when, player index, what).
    actions: list[tuple[float, int, str]] = []
    for i, arrived in enumerate(arrivals):
        if pushing:
            actions.append((arrived - 0.5, i, "connect"))
            beats = int((matched_at - arrived) // realtime.HEARTBEAT_SECONDS)
            actions += [(arrived + (k + 1) * realtime.HEARTBEAT_SECONDS, i, "ping") for k in range(beats)]
            actions.append((matched_at + 1.0, i, "disconnect"))
        actions.append((arrived, i, "create"))
        if mode == "poll":
            actions += [(t, i, "poll") for t in poll_times(arrived, matched_at)[1:]]
    actions.sort(key=lambda a: (a[0], a[2] != "connect", a[1]))

    tickets: dict[int, str] = {}
    done: set[int] = set()
    session: list[tuple[float, int, str]] = []
    if mode == "push_session":
        # Opened with the session, closed with it: outside what the match costs.
        session = [a for a in actions if a[2] in ("connect", "disconnect")]
        actions = [a for a in actions if a[2] not in ("connect", "disconnect")]
        for when, i, what in session:
            if what == "connect":
                _connect(ids[i], when, connections, players)
    with count_requests(aws.dynamodb()) as counted:
        for when, i, what in actions:
            player = ids[i]
            clock = (lambda t: lambda: t)(when)
            if what == "connect":
                ws_messages += 1
                lambdas += 1
                _connect(player, when, connections, players)
            elif what == "ping":
                ws_messages += 2  # the ping and its pong
                lambdas += 1
            elif what == "disconnect":
                lambdas += 1
                realtime.disconnect(connection_id=f"c-{player}", repo=connections)
            elif what == "create":
                request()
                account_status.check_active(player_id=player, repo=players)
                view = mm.create_ticket(
                    player_id=player,
                    queue_id=queue_id,
                    region="eu-west-1",
                    party=None,
                    config=config,
                    repo=repo,
                    players=players,
                    clock=clock,
                )
                tickets[i] = view["ticket_id"]
                if view["status"] == "matched":
                    done.add(i)
            elif what == "poll" and i not in done:
                request()
                account_status.check_active(player_id=player, repo=players)
                view = mm.poll_ticket(player_id=player, ticket_id=tickets[i], config=config, repo=repo, clock=clock)
                if view["status"] == "matched":
                    done.add(i)
    for _when, i, what in session:
        if what == "disconnect":
            realtime.disconnect(connection_id=f"c-{ids[i]}", repo=connections)
    pushes = sum(gateway.posted.values())
    if pushing:
        assert pushes == size, f"{pushes} match_found pushes for {size} players"
    assert len(done) == size or pushing, "every polling player saw its match"
    # How late a player learns of the match (simulated seconds): polling, at its next poll;
    # pushed, within the request that made the match.
    delays = [
        0.0 if pushing else next(t for t in poll_times(a, matched_at) if t >= matched_at) - matched_at for a in arrivals
    ]
    return {
        "notice_delay_seconds": sum(delays) / size,
        "http_requests": http / size,
        "ws_messages": (ws_messages + pushes) / size,
        "lambda_invocations": lambdas / size,
        "dynamodb_requests": counted.total_requests / size,
        "dynamodb_items_read": counted.items_read / size,
    }


def run() -> list[Figure]:
    logging.getLogger().setLevel(logging.WARNING)
    logger.setLevel(logging.WARNING)
    figures: list[Figure] = []
    saved: Any = notify._pusher
    try:
        with moto_tables():
            for size in SIZES:
                for mode in ("poll", "push", "push_session"):
                    measured = _scenario(size, mode)
                    for name, value in measured.items():
                        unit = {"dynamodb_items_read": "items", "notice_delay_seconds": "s"}.get(name, "requests")
                        figures.append(Figure(f"realtime.ticket_to_match.{mode}.{size}p.{name}", value, unit))
                    for name in (
                        "http_requests",
                        "ws_messages",
                        "lambda_invocations",
                        "dynamodb_requests",
                        "dynamodb_items_read",
                    ):
                        per_day = measured[name] * MATCHES_PER_DAY * 1000
                        unit = "items/day" if name.endswith("items_read") else "requests/day"
                        figures.append(Figure(f"realtime.per_1000_daily_players.{mode}.{size}p.{name}", per_day, unit))
    finally:
        notify.register_pusher(saved)
    return figures
