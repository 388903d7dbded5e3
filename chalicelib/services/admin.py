"""What the console needs beyond the other services: finding players, the queues at a glance."""

from __future__ import annotations

from typing import Any

from chalicelib.clock import Clock, iso, system_clock
from chalicelib.game_config.declarations import GameConfig, as_json
from chalicelib.services.players import profile_view
from chalicelib.storage.matchmaking import MatchmakingRepository
from chalicelib.storage.players import PlayersRepository

SEARCH_LIMIT = 20
WAITING_CAP = 1000  # counting waiting tickets stops here per queue and region
MATCHES_CAP = 1000  # and matches of the last hour here
RECENT_SHOWN = 20


def search_players(*, q: str, repo: PlayersRepository, limit: int = SEARCH_LIMIT) -> dict[str, Any]:
    """A player by id (one GetItem), by email (two GetItems) or by display name (one Query)."""
    text = q.strip()
    if not text:
        return {"matched_by": "none", "players": []}
    profile = repo.get_profile(text) if len(text) <= 128 else None
    if profile is not None:
        return {"matched_by": "id", "players": [profile_view(profile)]}
    if "@" in text:
        owner = repo.player_for_email(text.lower())
        found = repo.get_profile(owner) if owner else None
        if found is not None:
            return {"matched_by": "email", "players": [profile_view(found)]}
    named = repo.find_by_name(text, limit=limit)
    if named:
        return {"matched_by": "name", "players": [profile_view(p) for p in named]}
    return {"matched_by": "none", "players": []}


def matchmaking_overview(
    *, config: GameConfig, repo: MatchmakingRepository, clock: Clock = system_clock
) -> dict[str, Any]:
    """Each queue's rules and waiting tickets per region; matches made in the last hour.

    Requests: one COUNT Query per queue and region, and two per shard of the recent-matches
    index (this hour and the last); items read are bounded by the caps, never by a Scan.
    """
    now = clock()
    queues = []
    for queue_id, queue in sorted(config.queues.items()):
        regions = []
        for region in queue.regions:
            waiting = repo.count_waiting(queue_id, region, WAITING_CAP)
            regions.append({"region": region, "waiting": waiting, "capped": waiting >= WAITING_CAP})
        queues.append({"queue": queue_id, "rules": as_json(queue), "regions": regions})
    since = now - 3600
    count = repo.count_recent_matches(since, now, MATCHES_CAP)
    recent = repo.recent_matches(since, now, RECENT_SHOWN)
    return {
        "queues": queues,
        "matches_last_hour": count,
        "matches_last_hour_capped": count >= MATCHES_CAP,
        "recent_matches": [
            {
                "match_id": m.match_id,
                "queue": m.queue,
                "region": m.region,
                "teams": [list(team) for team in m.teams],
                "players": list(m.players),
                "created_at": iso(m.created_at),
            }
            for m in recent
        ],
    }
