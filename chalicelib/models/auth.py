"""Auth requests and the token response."""

from __future__ import annotations

from pydantic import Field, model_validator

from chalicelib.models.common import RequestModel, ResponseModel
from chalicelib.models.players import DisplayName
from chalicelib.storage.schema import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH


class GuestCreate(RequestModel):
    display_name: DisplayName | None = None


class LoginRequest(RequestModel):
    """Sign in with `username` (a guest's, or an upgraded account's email) or `email`."""

    username: str | None = Field(
        default=None, min_length=1, max_length=128, description="Username, or the email of an upgraded account"
    )
    email: str | None = Field(default=None, min_length=3, max_length=254, description="An upgraded account's email")
    password: str = Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)

    @model_validator(mode="after")
    def _one_identity(self) -> LoginRequest:
        if (self.username is None) == (self.email is None):
            raise ValueError("give either username or email")
        return self

    @property
    def identity(self) -> str:
        return self.email if self.email is not None else self.username or ""


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
