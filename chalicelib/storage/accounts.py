"""Cognito user pool: accounts and tokens. Translates Cognito errors to domain errors."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.config import get_settings
from chalicelib.errors import Conflict, Invalid, RateLimited, Unauthorized
from chalicelib.storage import aws
from chalicelib.storage.errors import error_code, is_throttling

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient

_BAD_CREDENTIALS = frozenset(
    {"NotAuthorizedException", "UserNotFoundException", "PasswordResetRequiredException", "UserNotConfirmedException"}
)


def _translate(exc: ClientError) -> Exception:
    code = error_code(exc)
    if code in _BAD_CREDENTIALS:
        return Unauthorized("wrong username, password or refresh token", code="bad_credentials")
    if code == "TooManyRequestsException" or code == "TooManyFailedAttemptsException":
        return RateLimited("too many sign-in attempts, retry later", retry_after=30)
    if code in ("InvalidPasswordException",):
        return Invalid(f"password: {exc.response['Error'].get('Message', 'rejected')}", field="password")
    if code in ("UsernameExistsException", "AliasExistsException"):
        return Conflict("that account already exists", code="account_exists")
    if is_throttling(exc):
        from chalicelib.errors import Throttled

        return Throttled()
    return exc


def token_claims_unverified(token: str) -> dict[str, Any]:
    """Claims of a token that Cognito itself just handed us (never of a client's token)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Tokens:
    """What a sign-in or a refresh returns: the account and its Cognito tokens."""

    player_id: str
    username: str | None
    id_token: str
    access_token: str
    refresh_token: str | None
    expires_in: int


class AccountsGateway:
    def __init__(
        self,
        *,
        client: CognitoIdentityProviderClient | None = None,
        pool_id: str | None = None,
        client_id: str | None = None,
    ) -> None:
        self._client = client
        self._pool_id = pool_id
        self._client_id = client_id

    @property
    def client(self) -> CognitoIdentityProviderClient:
        return self._client or aws.cognito()

    @property
    def pool_id(self) -> str:
        return self._pool_id or get_settings().user_pool_id

    @property
    def client_id(self) -> str:
        return self._client_id or get_settings().user_pool_client_id

    def create_user(self, username: str, password: str) -> str:
        """Create a confirmed user with a permanent password; returns its `sub`."""
        try:
            resp = self.client.admin_create_user(
                UserPoolId=self.pool_id,
                Username=username,
                MessageAction="SUPPRESS",
                TemporaryPassword=password,
            )
            self.client.admin_set_user_password(
                UserPoolId=self.pool_id, Username=username, Password=password, Permanent=True
            )
        except ClientError as exc:
            raise _translate(exc) from exc
        attrs = {a["Name"]: a["Value"] for a in resp["User"].get("Attributes", [])}
        return attrs["sub"]

    def password_auth(self, username: str, password: str) -> Tokens:
        try:
            resp = self.client.initiate_auth(
                ClientId=self.client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": username, "PASSWORD": password},
            )
        except ClientError as exc:
            raise _translate(exc) from exc
        return self._tokens(resp)

    def refresh(self, refresh_token: str) -> Tokens:
        try:
            resp = self.client.initiate_auth(
                ClientId=self.client_id,
                AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": refresh_token},
            )
        except ClientError as exc:
            raise _translate(exc) from exc
        tokens = self._tokens(resp)
        return replace(tokens, refresh_token=tokens.refresh_token or refresh_token)

    def set_email_and_password(self, username: str, email: str, password: str) -> None:
        try:
            self.client.admin_set_user_password(
                UserPoolId=self.pool_id, Username=username, Password=password, Permanent=True
            )
            self.client.admin_update_user_attributes(
                UserPoolId=self.pool_id,
                Username=username,
                UserAttributes=[
                    {"Name": "email", "Value": email},
                    {"Name": "email_verified", "Value": "true"},
                ],
            )
        except ClientError as exc:
            raise _translate(exc) from exc

    def delete_user(self, username: str) -> None:
        try:
            self.client.admin_delete_user(UserPoolId=self.pool_id, Username=username)
        except ClientError as exc:
            if error_code(exc) == "UserNotFoundException":
                return
            raise _translate(exc) from exc

    @staticmethod
    def _tokens(resp: Any) -> Tokens:
        result = resp.get("AuthenticationResult")
        if not result:
            # A challenge (e.g. NEW_PASSWORD_REQUIRED) is not something a game client handles.
            raise Unauthorized("this account needs an action outside the game", code="challenge_required")
        claims = token_claims_unverified(result["IdToken"])
        return Tokens(
            player_id=claims["sub"],
            username=claims.get("cognito:username"),
            id_token=result["IdToken"],
            access_token=result["AccessToken"],
            refresh_token=result.get("RefreshToken"),
            expires_in=int(result.get("ExpiresIn", 3600)),
        )
