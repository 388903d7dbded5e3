"""Auth requests and the token response."""

from __future__ import annotations

from pydantic import Field

from chalicelib.models.common import RequestModel, ResponseModel
from chalicelib.models.players import DisplayName
from chalicelib.storage.schema import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH


class GuestCreate(RequestModel):
    display_name: DisplayName | None = None


class LoginRequest(RequestModel):
    username: str = Field(min_length=1, max_length=128, description="Username, or the email of an upgraded account")
    password: str = Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)


class RefreshRequest(RequestModel):
    refresh_token: str = Field(min_length=1, max_length=4096)


class UpgradeRequest(RequestModel):
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    password: str = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)


class TokensView(ResponseModel):
    player_id: str
    id_token: str
    access_token: str
    refresh_token: str | None = None
    expires_in: int
    username: str | None = None
    password: str | None = Field(default=None, description="Only for a new guest: keep it on the device")
