"""The deploy command and `chalice deploy` against the local stand-in, as far as moto goes.

Where moto stops, each test asserts the exact place and moto's reason, so a moto upgrade
that goes further makes the test fail and shows how far the path now gets:

- the stack path (`make deploy`): in test_package.py, on the package built there (one
  `chalice package` per run);
- `chalice deploy`: the functions' role (with the generated policy) and every Lambda
  function are created; the REST API import fails: moto reads the optional
  `info.description` unconditionally, and its OpenAPI import refuses any Swagger 2.0
  document, which is the only format Chalice writes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local_backend.standin import StandIn
from tools import cfn, deploy, iam
from tools.provision import provision

pytestmark = pytest.mark.slow
REGION = "us-east-1"


@pytest.fixture
def session(standin: StandIn) -> Any:
    return boto3.session.Session(region_name=REGION)


def _small_template(prefix: str, *, queue_days: int = 14) -> dict[str, Any]:
    """A stack moto can run: one retained table, one retained bucket, one queue."""
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "PlayersTable": {
                "Type": "AWS::DynamoDB::Table",
                **cfn.RETAIN,
                "Properties": {
                    "TableName": f"{prefix}-players",
                    "BillingMode": "PAY_PER_REQUEST",
                    "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"}],
                    "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}],
                },
            },
            "SavesBucket": {"Type": "AWS::S3::Bucket", **cfn.RETAIN, "Properties": {"BucketName": f"{prefix}-saves"}},
            "FailedQueue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"QueueName": f"{prefix}-failed", "MessageRetentionPeriod": queue_days * 86400},
            },
        },
        "Outputs": {"PlayersTableName": {"Value": {"Ref": "PlayersTable"}}},
    }


def _apply(session: Any, stack: str, template: dict[str, Any], lines: list[str]) -> bool:
    s3 = session.client("s3")
    deploy.ensure_artifacts_bucket(s3, "deploy-checks", REGION, report=lines.append)
    body = json.dumps(template, indent=2, sort_keys=True) + "\n"
    key = f"{stack}/{abs(hash(body))}.json"
    s3.put_object(Bucket="deploy-checks", Key=key, Body=body.encode())
    return deploy.apply_template(
        session.client("cloudformation"),
        stack_name=stack,
        template_url=deploy.template_url(s3, "deploy-checks", key, REGION),
        template_body=body,
        parameters={},
        tags={"game-backend:stage": "check"},
        report=lines.append,
    )


def test_a_second_deploy_of_the_same_template_changes_nothing(session: Any) -> None:
    lines: list[str] = []
    assert _apply(session, "idempotency-check", _small_template("idem"), lines) is True
    assert session.client("dynamodb").describe_table(TableName="idem-players")["Table"]["TableStatus"] == "ACTIVE"
    assert _apply(session, "idempotency-check", _small_template("idem"), lines) is False
    # A real change is applied.
    assert _apply(session, "idempotency-check", _small_template("idem", queue_days=7), lines) is True
    assert _apply(session, "idempotency-check", _small_template("idem", queue_days=7), lines) is False


def test_destroy_keeps_player_data_unless_asked(session: Any) -> None:
    lines: list[str] = []
    assert _apply(session, "game-backend-dev", _small_template("keep"), lines) is True
    target = deploy.Target(session, "dev")
    session.client("s3").put_object(Bucket="keep-saves", Key="p1/slot", Body=b"save")
    kept = deploy.destroy(target, report=lines.append)
    assert ("AWS::DynamoDB::Table", "keep-players") in kept
    assert deploy.describe_stack(session.client("cloudformation"), "game-backend-dev") is None
    session.client("dynamodb").describe_table(TableName="keep-players")  # still there
    assert session.client("s3").get_object(Bucket="keep-saves", Key="p1/slot")["Body"].read() == b"save"
    assert any("kept AWS::DynamoDB::Table keep-players" in line for line in lines)

    assert _apply(session, "game-backend-dev", _small_template("gone"), lines) is True
    session.client("s3").put_object(Bucket="gone-saves", Key="p1/slot", Body=b"save")
    deploy.destroy(target, delete_data=True, report=lines.append)
    with pytest.raises(ClientError):
        session.client("dynamodb").describe_table(TableName="gone-players")
    with pytest.raises(ClientError):
        session.client("s3").head_bucket(Bucket="gone-saves")


def test_destroy_needs_confirmation_to_delete_data() -> None:
    with pytest.raises(SystemExit):
        deploy.main(["destroy", "--stage", "dev", "--delete-data"])


def test_chalice_deploy_goes_up_to_moto_refusing_swagger(session: Any, standin: StandIn, tmp_path: Path) -> None:
    """`chalice deploy` of a stage whose data the definition made, against the stand-in."""
    outputs = provision(
        dynamodb=session.client("dynamodb"),
        s3=session.client("s3"),
        cognito=session.client("cognito-idp"),
        prefix="game-dev",
        region=REGION,
        bucket_names={"saves": f"game-dev-saves-123456789012-{REGION}"},
    )
    env = {**outputs["env"], "TABLE_PREFIX": "game-dev"}
    names = iam.concrete_names("dev", account_id="123456789012", region=REGION, user_pool_arn=env["USER_POOL_ARN"])
    policy = iam.build_policy(names)
    project = deploy.chalice_project("dev", env, policy, tmp_path / "chalice-dev")
    result = subprocess.run(
        [str(Path(sys.executable).with_name("chalice")), "deploy", "--stage", "dev"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "ImportRestApi" in output, output[-3000:]

    # Everything before the REST API exists, with the definition's names and policy.
    functions = {f["FunctionName"]: f for f in session.client("lambda").list_functions()["Functions"]}
    deployed = {name for name in functions if name.startswith("game-backend-dev")}
    assert deployed >= {
        "game-backend-dev",
        "game-backend-dev-matchmaking-cleanup",
        "game-backend-dev-close-leaderboard-periods",
    }
    variables = functions["game-backend-dev"]["Environment"]["Variables"]
    assert variables["TABLE_PLAYERS"] == "game-dev-players" and variables["USER_POOL_ID"] == env["USER_POOL_ID"]
    role = functions["game-backend-dev"]["Role"].rsplit("/", 1)[1]
    iam_client = session.client("iam")
    policy_names = iam_client.list_role_policies(RoleName=role)["PolicyNames"]
    documents = [iam_client.get_role_policy(RoleName=role, PolicyName=n)["PolicyDocument"] for n in policy_names]
    assert policy in documents

    # Where moto stops: its REST API import refuses Chalice's Swagger 2.0 document.
    swagger = {"swagger": "2.0", "info": {"title": "t", "version": "1", "description": "d"}, "paths": {}}
    apigateway = session.client("apigateway")
    api = apigateway.create_rest_api(name="swagger-check")
    with pytest.raises(ClientError) as refused:
        apigateway.put_rest_api(restApiId=api["id"], mode="overwrite", body=json.dumps(swagger).encode())
    assert refused.value.response["Error"]["Code"] == "BadRequestException"
    assert "only openapi 3" in refused.value.response["Error"]["Message"].lower()
