"""The seed Unity client's routes, as thin adapters over the same services.

The seed client POSTs `{functionName, playerId, payload, headers, timestamp}` and reads
`{"error": ...}` on failure. `playerId` is ignored: identity comes from the token.
Each service's seed route lives beside its own routes; this module has the shared parts
and `/player-stats`.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, get_args

from chalice import Blueprint

from chalicelib import composition
from chalicelib.api.http import Call, invalid_from, route
from chalicelib.errors import Invalid

if TYPE_CHECKING:
    from pydantic import BaseModel

    from chalicelib.models.seed import SeedStatsEnvelope

bp = Blueprint(__name__)


def payload_as(model: type[BaseModel], payload: dict[str, Any]) -> Any:
    """Validate the envelope's payload; errors name `payload.<field>`."""
    from pydantic import ValidationError

    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise invalid_from(exc, "payload", model=model) from None


@functools.cache
def _actions(union: Any) -> tuple[Any, dict[str, type[BaseModel]]]:
    """The adapter of a union of payload models tagged by `action`, and the model of each action."""
    from pydantic import TypeAdapter

    variants: dict[str, type[BaseModel]] = {}
    for model in get_args(get_args(union)[0]):
        for action in get_args(model.model_fields["action"].annotation):
            variants[action] = model
    return TypeAdapter(union), variants


def action_as(union: Any, payload: dict[str, Any]) -> Any:
    """Validate a payload against a union of models discriminated by `action`: the model of
    its action. An unknown action is a 400 naming `payload.action`; a bad field, one naming
    `payload.<field>` as that action's model reports it."""
    from pydantic import ValidationError

    adapter, variants = _actions(union)
    try:
        return adapter.validate_python(payload)
    except ValidationError:
        action = payload.get("action")
        if not isinstance(action, str) or action not in variants:
            raise Invalid(
                f"payload.action: must be one of {', '.join(sorted(variants))}", field="payload.action"
            ) from None
        # The union prefixes each error with the tag: the action's own model names the field.
        return payload_as(variants[action], payload)


@route(
    bp,
    "/player-stats",
    methods=("POST",),
    body="chalicelib.models.seed:SeedStatsEnvelope",
    response="chalicelib.models.seed:SeedStatsResponse",
    tags=("seed",),
    errors=(400, 403),
    idempotent=True,
)
def seed_player_stats(call: Call) -> dict[str, Any]:
    """Seed adapter: `action` update (default), increment, or get over the stats service."""
    from chalicelib.models.players import StatsUpdate
    from chalicelib.services import stats

    envelope: SeedStatsEnvelope = call.body
    action = envelope.action or envelope.payload.get("action") or "update"
    payload = {k: v for k, v in envelope.payload.items() if k not in ("action", "playerId", "timestamp")}
    config = composition.game_config()
    repo = composition.players_repo()
    if action == "get":
        view = stats.get_stats(player_id=call.player_id, config=config, repo=repo)
        return {"player_id": call.player_id, "stats": view["stats"]}
    if action not in ("update", "increment"):
        raise Invalid("action: must be update, increment or get", field="action")
    updates = payload_as(StatsUpdate, {"updates": payload}).updates
    if action == "increment":
        for name in updates:
            stat = config.stat(name)
            if stat is not None and stat.aggregation != "sum":
                raise Invalid(f"payload.{name}: only sum stats can be incremented", field=f"payload.{name}")
    view = stats.update_stats(player_id=call.player_id, updates=updates, writer="client", config=config, repo=repo)
    return {
        "message": "Player stats updated successfully",
        "player_id": call.player_id,
        "stats": view["stats"],
        "updated_stats": view["stats"],
    }
