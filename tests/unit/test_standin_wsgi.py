"""The stand-in's WSGI wrapper without moto: ClientRequestToken's 10-minute window on a
clock the test moves, and requests queued while it stops."""

from __future__ import annotations

import io
import json
from typing import Any

from local_backend.standin import IDEMPOTENCY_WINDOW_SECONDS, _SerializedApp


class FakeMoto:
    """Counts the TransactWriteItems it applies; answers 200 or what it is told."""

    def __init__(self) -> None:
        self.applied = 0
        self.status = "200 OK"

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        environ["wsgi.input"].read()
        if self.status.startswith("200"):
            self.applied += 1
        start_response(self.status, [("Content-Type", "application/x-amz-json-1.0")])
        return [json.dumps({"applied": self.applied}).encode()]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _call(app: _SerializedApp, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    raw = json.dumps(body).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.TransactWriteItems",
        "CONTENT_LENGTH": str(len(raw)),
        "wsgi.input": io.BytesIO(raw),
    }
    answer: dict[str, str] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answer["status"] = status

    out = b"".join(app(environ, start_response))
    return answer["status"], json.loads(out)


def _request(token: str, amount: int = 1) -> dict[str, Any]:
    return {
        "TransactItems": [{"Update": {"TableName": "t", "Key": {"PK": {"S": "a"}}, "n": amount}}],
        "ClientRequestToken": token,
    }


def test_a_token_is_remembered_for_ten_minutes_then_forgotten() -> None:
    moto, clock = FakeMoto(), Clock()
    app = _SerializedApp(moto, clock=clock)
    assert _call(app, _request("tok")) == ("200 OK", {"applied": 1})
    clock.now += IDEMPOTENCY_WINDOW_SECONDS - 1
    assert _call(app, _request("tok")) == ("200 OK", {"applied": 1})
    assert moto.applied == 1
    clock.now += 2
    # Past the window the same token is a new request.
    assert _call(app, _request("tok")) == ("200 OK", {"applied": 2})
    assert len(app.tokens) == 1


def test_other_content_under_a_known_token_is_a_mismatch() -> None:
    moto = FakeMoto()
    app = _SerializedApp(moto, clock=Clock())
    _call(app, _request("tok"))
    status, body = _call(app, _request("tok", amount=2))
    assert status.startswith("400")
    assert body["__type"].endswith("#IdempotentParameterMismatchException")
    assert moto.applied == 1


def test_a_failed_transaction_is_not_remembered() -> None:
    moto = FakeMoto()
    app = _SerializedApp(moto, clock=Clock())
    moto.status = "400 Bad Request"
    assert _call(app, _request("tok"))[0].startswith("400")
    moto.status = "200 OK"
    assert _call(app, _request("tok")) == ("200 OK", {"applied": 1})


def test_requests_queued_while_stopping_answer_503_without_reaching_moto() -> None:
    moto = FakeMoto()
    app = _SerializedApp(moto, clock=Clock())
    app.closing = True
    status, body = _call(app, _request("tok"))
    assert status.startswith("503") and moto.applied == 0
    assert "stopping" in body["message"]
