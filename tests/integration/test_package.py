"""`chalice package --stage prod` with the generated merge template passes cfn-lint.

Runs the real packaging on the project (Chalice reuses its dependency zip from
`.chalice/deployments`, so only the first run downloads wheels) and lints the SAM
template offline.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from chalicelib.storage.schema import DATA
from tools import cfn, iam
from tools.stage_config import PROJECT_DIR

pytestmark = pytest.mark.skipif(
    not (PROJECT_DIR / "app.py").exists(),
    reason="app.py is not in this checkout yet: nothing to package",
)


def _tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    assert found, f"{name} is not installed (requirements-dev.txt)"
    return found


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("package")
    merge = out / "merge.json"
    env = dict(os.environ)
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    # In its own process: loading the app sets the stage's variables in os.environ.
    generate = [sys.executable, "-m", "tools.cfn", "--stage", "prod", "--app-dir", "."]
    subprocess.run(
        [*generate, "--out", str(merge)],
        cwd=PROJECT_DIR,
        env=env,
        check=True,
        timeout=120,
    )
    started = time.monotonic()
    result = subprocess.run(
        [
            _tool("chalice"),
            "package",
            "--stage",
            "prod",
            "--merge-template",
            str(merge),
            str(out / "sam"),
        ],
        check=False,
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    print(f"chalice package took {elapsed:.1f}s")
    sam = out / "sam" / "sam.json"
    return {"path": sam, "template": json.loads(sam.read_text()), "seconds": elapsed}


def test_cfn_lint_finds_no_errors(packaged: dict[str, Any]) -> None:
    result = subprocess.run(
        [_tool("cfn-lint"), "--format", "parseable", str(packaged["path"])],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    # cfn-lint's exit code is a bit mask: 2 errors, 4 warnings, 8 informational.
    assert result.returncode & ~(4 | 8) == 0, result.stdout + result.stderr


def test_stores_of_data_are_in_the_template(packaged: dict[str, Any]) -> None:
    resources = packaged["template"]["Resources"]
    for table in DATA.tables:
        assert resources[cfn.table_logical_id(table)]["Type"] == "AWS::DynamoDB::Table"
    for bucket in DATA.buckets:
        assert resources[cfn.bucket_logical_id(bucket)]["Type"] == "AWS::S3::Bucket"
    for logical_id in ("UserPool", "UserPoolClient", "AdminsGroup"):
        assert logical_id in resources
    variables = packaged["template"]["Globals"]["Function"]["Environment"]["Variables"]
    assert variables == cfn.function_environment()


def test_every_function_role_has_only_the_written_policy(
    packaged: dict[str, Any],
) -> None:
    resources = packaged["template"]["Resources"]
    written = json.loads(iam.policy_path("prod").read_text())
    functions = [
        r for r in resources.values() if r["Type"] == "AWS::Serverless::Function"
    ]
    assert functions
    for function in functions:
        role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
        role = resources[role_id]
        assert "ManagedPolicyArns" not in role["Properties"]
        documents = [p["PolicyDocument"] for p in role["Properties"]["Policies"]]
        assert documents == [written], role_id
    text = json.dumps(packaged["template"])
    for grant in ('"dynamodb:*"', '"s3:*"', '"cognito-idp:*"', '"*:*"'):
        # s3:* appears once, in the bucket policy that denies plain HTTP.
        allowed = 1 if grant == '"s3:*"' else 0
        assert text.count(grant) == allowed, grant


def test_authorizers_and_streams_point_at_the_stack(packaged: dict[str, Any]) -> None:
    resources = packaged["template"]["Resources"]
    api = resources.get("RestAPI", {}).get("Properties", {}).get("DefinitionBody", {})
    for name, scheme in api.get("securityDefinitions", {}).items():
        authorizer = scheme.get("x-amazon-apigateway-authorizer", {})
        if authorizer.get("type") == "cognito_user_pools":
            assert authorizer["providerARNs"] == [
                {"Fn::GetAtt": ["UserPool", "Arn"]}
            ], name
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "DynamoDB":
                stream = event["Properties"]["Stream"]
                assert stream.get("Fn::GetAtt", [None, None])[1] == "StreamArn", (
                    logical_id
                )
