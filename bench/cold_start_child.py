"""One cold start in this fresh process; the parent (bench_cold_start) runs many.

    python -m bench.cold_start_child SPEC_JSON

Set-up, not timed: moto's in-process `mock_aws` and the tables of the spec, unless the
spec's environment points at a running stand-in (`AWS_ENDPOINT_URL`). Timed: what Lambda
does on a cold start, nothing else: import the app module, then call `app(event, context)`
with the spec's API Gateway proxy event (GET /health by default). No test client is
imported (chalice.test loads Chalice's CLI, which a function never pays for).
Prints one JSON line: {"ms": ..., "status": ...}.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time


def main() -> int:
    spec = json.loads(sys.argv[1])
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(spec["env"])
    event = spec.get("event") or proxy_event("GET", "/health")

    mock = None
    if "AWS_ENDPOINT_URL" not in spec["env"]:
        import boto3
        from moto import mock_aws

        mock = mock_aws()
        mock.start()
        # A session of its own, so the app's clients find no warm botocore loader.
        setup = boto3.session.Session(region_name=os.environ["AWS_DEFAULT_REGION"])
        dynamodb = setup.client("dynamodb")
        for table in spec["tables"]:
            dynamodb.create_table(**table)
        del dynamodb, setup

    sys.path.insert(0, spec["app_dir"])
    started = time.perf_counter()
    module = importlib.import_module(spec["module"])
    response = module.app(event, LambdaContext())
    elapsed_ms = (time.perf_counter() - started) * 1000
    if mock is not None:
        mock.stop()
    print(json.dumps({"ms": elapsed_ms, "status": response["statusCode"]}))
    return 0


def proxy_event(method: str, path: str, headers: dict[str, str] | None = None, body: str | None = None) -> dict:
    """An API Gateway REST proxy event for a route without path parameters."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {k.lower(): v for k, v in (headers or {}).items()},
        "multiValueHeaders": {k.lower(): [v] for k, v in (headers or {}).items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/api{path}",
            "stage": "api",
            "requestId": "cold-start",
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


class LambdaContext:
    """The attributes of Lambda's context object the app may read."""

    function_name = "cold-start"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:cold-start"
    memory_limit_in_mb = 512
    aws_request_id = "cold-start"
    log_group_name = "/aws/lambda/cold-start"
    log_stream_name = "cold-start"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


if __name__ == "__main__":
    raise SystemExit(main())
