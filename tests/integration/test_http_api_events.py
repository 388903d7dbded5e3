"""The app behind the deployed HTTP API: Lambda events in payload format 1.0, as the HTTP API
sends them (the shape of API Gateway's documented example), reach the routes, and any method
or path without a route (the HTTP API's default route) gets a 404 in the error shape."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from chalice.local import LambdaContext


def http_api_event(
    method: str,
    path: str,
    *,
    route: str,
    headers: dict[str, str] | None = None,
    body: str | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """An HTTP API payload 1.0 event: `route` is the matched route's path (`/$default` for
    the default route); header names arrive in lower case."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    headers.setdefault("host", "abc123.execute-api.us-east-1.amazonaws.com")
    headers.setdefault("user-agent", "UnityPlayer/2022.3")
    return {
        "version": "1.0",
        "resource": route,
        "path": f"/api{path}",
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "authorizer": {"claims": None, "scopes": None},
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "extendedRequestId": "RzLhqiy1oAMEbdA=",
            "httpMethod": method,
            "identity": {"sourceIp": "203.0.113.7", "userAgent": headers["user-agent"]},
            "path": f"/api{path}",
            "protocol": "HTTP/1.1",
            "requestId": "RzLhqiy1oAMEbdA=",
            "requestTime": "02/Dec/2026:10:15:17 +0000",
            "requestTimeEpoch": 1796206517135,
            "resourceId": None,
            "resourcePath": route,
            "stage": "api",
        },
        "pathParameters": None,
        "stageVariables": None,
        "body": base64.b64encode(body.encode()).decode() if body is not None and base64_body else body,
        "isBase64Encoded": base64_body,
    }


def invoke(app: Any, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    answer = app(event, LambdaContext("APIHandler", 512))
    assert not answer.get("isBase64Encoded")
    return answer["statusCode"], json.loads(answer["body"])


def test_a_route_answers_an_http_api_event(chalice_app: Any) -> None:
    status, body = invoke(chalice_app, http_api_event("GET", "/health", route="/health"))
    assert status == 200, body
    assert body["status"] == "ok"


def test_a_player_updates_stats_through_http_api_events(chalice_app: Any, new_player: Any) -> None:
    player = new_player()
    auth = {"Authorization": f"Bearer {player.id_token}", "Content-Type": "application/json"}
    event = http_api_event(
        "POST",
        "/players/me/stats",
        route="/players/me/stats",
        headers=auth,
        body=json.dumps({"updates": {"kills": 2}}),
        # The HTTP API passes a body it does not take for text as base64: the app decodes it.
        base64_body=True,
    )
    status, body = invoke(chalice_app, event)
    assert status == 200, body
    status, body = invoke(chalice_app, http_api_event("GET", "/players/me", route="/players/me", headers=auth))
    assert status == 200, body
    assert body["player_id"] == player.player_id
    status, body = invoke(
        chalice_app, http_api_event("GET", "/players/me/stats", route="/players/me/stats", headers=auth)
    )
    assert status == 200, body
    assert body["stats"]["kills"] == 2


def test_a_route_with_path_parameters_gets_them(chalice_app: Any, new_player: Any) -> None:
    player = new_player()
    event = http_api_event(
        "GET",
        "/leaderboards/daily_score",
        route="/leaderboards/{board_id}",
        headers={"Authorization": f"Bearer {player.id_token}"},
    )
    event["pathParameters"] = {"board_id": "daily_score"}
    status, body = invoke(chalice_app, event)
    assert status == 200, body
    assert body["board"] == "daily_score"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/no/such/path"),  # no route of its own
        ("DELETE", "/health"),  # a known path with a method it does not take: the gateway sends it here too
    ],
)
def test_the_default_route_answers_404_in_the_error_shape(chalice_app: Any, method: str, path: str) -> None:
    status, body = invoke(chalice_app, http_api_event(method, path, route="/$default"))
    assert status == 404
    assert body == {"error": "no route for this method and path", "code": "not_found"}


def test_a_declared_path_with_another_method_answers_405_in_the_error_shape(chalice_app: Any) -> None:
    # chalice local and a REST API name the matched path: the app says which methods it takes.
    answer = chalice_app(http_api_event("PATCH", "/health", route="/health"), LambdaContext("APIHandler", 512))
    assert answer["statusCode"] == 405
    assert answer["headers"]["Allow"] == "GET"
    assert json.loads(answer["body"]) == {
        "error": "PATCH is not a method of this path",
        "code": "method_not_allowed",
        "details": {"allow": ["GET"]},
    }


def test_an_event_without_a_route_answers_404_in_the_error_shape(chalice_app: Any) -> None:
    event = http_api_event("GET", "/anything", route="/$default")
    del event["requestContext"]["resourcePath"]
    status, body = invoke(chalice_app, event)
    assert status == 404
    assert body["code"] == "not_found"
