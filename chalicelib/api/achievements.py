"""Achievement routes: the caller's list and progress reports, the admin grant, the seed route."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import composition
from chalicelib.api.http import Call, route
from chalicelib.api.seed import payload_as
from chalicelib.errors import Invalid, NotFound

if TYPE_CHECKING:
    from chalicelib.models.achievements import SeedAchievementsPayload
    from chalicelib.models.common import SeedEnvelope


bp = Blueprint(__name__)


def _deps() -> dict[str, Any]:
    return {
        "config": composition.game_config(),
        "repo": composition.achievements_repo(),
        "players_repo": composition.players_repo(),
    }


@route(bp, "/achievements", response="chalicelib.models.achievements:AchievementList", tags=("achievements",))
def list_achievements(call: Call) -> dict[str, Any]:
    """Every achievement with the caller's progress, unlock time and rarity (hidden ones masked)."""
    from chalicelib.services import achievements

    return achievements.list_achievements(player_id=call.player_id, **_deps())


@route(
    bp,
    "/achievements/{achievement_id}/progress",
    methods=("POST",),
    body="chalicelib.models.achievements:ProgressReport",
    response="chalicelib.models.achievements:ProgressResult",
    tags=("achievements",),
    errors=(400, 403, 404),
    idempotent=True,
)
def report_progress(call: Call, achievement_id: str) -> dict[str, Any]:
    """Report steps of an incremental achievement the client may report; unlocks at the target."""
    from chalicelib.services import achievements

    return achievements.report_progress(
        player_id=call.player_id, achievement_id=achievement_id, steps=call.body.steps, reporter="client", **_deps()
    )


@route(
    bp,
    "/admin/achievements/{achievement_id}/grant",
    methods=("POST",),
    auth="admin",
    body="chalicelib.models.achievements:GrantRequest",
    response="chalicelib.models.achievements:GrantResult",
    tags=("admin", "achievements"),
    errors=(400, 403, 404),
    idempotent=True,
)
def admin_grant(call: Call, achievement_id: str) -> dict[str, Any]:
    """Grant an achievement (and its reward, once) to the player the body names."""
    from chalicelib.services import achievements

    deps = _deps()
    if deps["players_repo"].get_profile(call.body.player_id) is None:
        raise NotFound("no such player", details={"field": "player_id"})
    return achievements.grant(player_id=call.body.player_id, achievement_id=achievement_id, **deps)


@route(
    bp,
    "/admin/players/{player_id}/achievements/{achievement_id}/progress",
    methods=("POST",),
    auth="admin",
    body="chalicelib.models.achievements:ProgressReport",
    response="chalicelib.models.achievements:ProgressResult",
    tags=("admin", "achievements"),
    errors=(400, 403, 404),
    idempotent=True,
)
def admin_report_progress(call: Call, player_id: str, achievement_id: str) -> dict[str, Any]:
    """The game server's progress report for a player, also for achievements clients may not report."""
    from chalicelib.services import achievements

    deps = _deps()
    if deps["players_repo"].get_profile(player_id) is None:
        raise NotFound("no such player", details={"field": "player_id"})
    return achievements.report_progress(
        player_id=player_id, achievement_id=achievement_id, steps=call.body.steps, reporter="server", **deps
    )


@route(
    bp,
    "/achievements",
    methods=("POST",),
    body="chalicelib.models.common:SeedEnvelope",
    response="chalicelib.models.achievements:AchievementList",
    tags=("seed",),
    errors=(400, 403, 404),
)
def seed_achievements(call: Call) -> dict[str, Any]:
    """Seed adapter: payload `{action: list (default) | get | progress, achievement_id, steps}`."""
    from chalicelib.models.achievements import SeedAchievementsPayload
    from chalicelib.services import achievements

    envelope: SeedEnvelope = call.body
    payload = {k: v for k, v in envelope.payload.items() if k not in ("playerId", "timestamp")}
    if envelope.action is not None:
        payload.setdefault("action", envelope.action)
    request: SeedAchievementsPayload = payload_as(SeedAchievementsPayload, payload)
    if request.action == "list":
        return achievements.list_achievements(player_id=call.player_id, **_deps())
    if request.achievement_id is None:
        raise Invalid("payload.achievement_id: required for this action", field="payload.achievement_id")
    if request.action == "progress":
        return achievements.report_progress(
            player_id=call.player_id,
            achievement_id=request.achievement_id,
            steps=request.steps,
            reporter="client",
            **_deps(),
        )
    listing = achievements.list_achievements(player_id=call.player_id, **_deps())
    for view in listing["achievements"]:
        if view["id"] == request.achievement_id:
            return {"achievement": view}
    raise NotFound(f"no achievement {request.achievement_id!r}", code="unknown_achievement")
