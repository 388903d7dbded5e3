"""One cold start in this fresh process; the parent (bench_cold_start) runs many.

    python -m bench.cold_start_child SPEC_JSON

Set-up, not timed: moto's in-process `mock_aws` and the tables of the spec, unless the
spec's environment points at a running stand-in (`AWS_ENDPOINT_URL`). Timed: import the
app module, then its first request (the spec's, GET /health by default) through
chalice.test.Client.
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
    request = spec.get("request") or {"method": "GET", "path": "/health"}

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
    from chalice.test import Client

    module = importlib.import_module(spec["module"])
    with Client(module.app) as client:
        response = client.http.request(
            request["method"], request["path"], headers=request.get("headers", {}), body=request.get("body")
        )
    elapsed_ms = (time.perf_counter() - started) * 1000
    if mock is not None:
        mock.stop()
    print(json.dumps({"ms": elapsed_ms, "status": response.status_code}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
