"""Account deletion: how each service erases a player's data (registered by the composition root)."""

from __future__ import annotations

from collections.abc import Callable

Eraser = Callable[[str], int]
_erasers: dict[str, Eraser] = {}


def _wired() -> None:
    from chalicelib.composition import wire

    wire()


def eraser(name: str) -> Callable[[Eraser], Eraser]:
    """Register `fn(player_id) -> items erased` under a service name."""

    def register(fn: Eraser) -> Eraser:
        _wired()
        _erasers[name] = fn
        return fn

    return register


def registered() -> dict[str, Eraser]:
    _wired()
    return dict(_erasers)


def erase_everything(player_id: str) -> dict[str, int]:
    """Run every eraser; each is idempotent, so a retried deletion finishes the job."""
    _wired()
    return {name: fn(player_id) for name, fn in sorted(_erasers.items())}
