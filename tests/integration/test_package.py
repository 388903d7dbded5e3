"""`make package` with no region anywhere, then the offline checks of the stack template.

The packaged SAM template is translated to plain CloudFormation by the pinned
aws-sam-translator, linted by cfn-lint (no error, warning or informational finding) and
scanned by checkov, whose findings must be exactly the skips listed with their reasons in
tools/checkov-skips.txt. Both tools live in .venv-checkov (their pins clash with the app's),
which `make` builds from requirements-checkov.txt.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from chalicelib.storage.schema import DATA, DEPLOYMENT
from local_backend.standin import StandIn
from tools import cfn, deploy, iam
from tools.stage_config import PROJECT_DIR

pytestmark = pytest.mark.slow
CHECKS_PYTHON = PROJECT_DIR / ".venv-checkov" / "bin" / "python"
SKIPS = PROJECT_DIR / "tools" / "checkov-skips.txt"
REGION_LITERAL = re.compile(r"\b(us|eu|ap|sa|ca|me|af|il|mx)-(east|west|north|south|central|northeast|southeast)-\d\b")


def _regionless_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # No region from a profile either: an empty config and credentials file.
    empty = tmp / "aws-config"
    empty.write_text("")
    env.update({"AWS_CONFIG_FILE": str(empty), "AWS_SHARED_CREDENTIALS_FILE": str(empty)})
    return env


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("package")
    env = _regionless_env(tmp)
    assert not any(k in env for k in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"))
    result = subprocess.run(
        ["make", "package", "PYTHON=" + sys.executable],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    sam = PROJECT_DIR / "build" / "package" / "sam.json"
    assert (sam.parent / "deployment.zip").stat().st_size > 0
    # game.json ships checked, so a cold start loads it without pydantic.
    import zipfile

    from chalicelib.game_config import GAME_CONFIG_PATH, digest

    with zipfile.ZipFile(sam.parent / "deployment.zip") as code:
        shipped = code.read("chalicelib/game_config/game.json.checked").decode().strip()
    assert shipped == digest(GAME_CONFIG_PATH.read_bytes())
    # The checks' environment, made by the repo's Makefile from its pinned file.
    made = subprocess.run(
        ["make", ".venv-checkov/.installed", "PYTHON=" + sys.executable],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    translated = tmp / "translated.json"
    subprocess.run(
        [str(CHECKS_PYTHON), "-m", "tools.cfn", "translate", str(sam), str(translated)],
        cwd=PROJECT_DIR,
        env=env,
        check=True,
        timeout=300,
    )
    return {
        "sam_path": sam,
        "sam": json.loads(sam.read_text()),
        "translated_path": translated,
        "translated": json.loads(translated.read_text()),
    }


def _cfn_lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), "--format", "parseable", str(path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_translated_template_has_no_cfn_lint_finding(packaged: dict[str, Any]) -> None:
    for path in (packaged["sam_path"], packaged["translated_path"]):
        result = _cfn_lint(path)
        # Exit code 0: no error (2), no warning (4), no informational finding (8).
        assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_would_catch_a_bad_action(packaged: dict[str, Any], tmp_path: Path) -> None:
    # The lint is live: the action the old policy granted is reported (W3037).
    template = json.loads(json.dumps(packaged["translated"]))
    role = template["Resources"][cfn.FUNCTION_ROLE]["Properties"]["Policies"][0]["PolicyDocument"]
    role["Statement"][0]["Action"].append("dynamodb:TransactWriteItems")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(template))
    result = _cfn_lint(bad)
    assert result.returncode != 0 and "W3037" in result.stdout, result.stdout


def _skips() -> dict[str, str]:
    skips: dict[str, str] = {}
    for line in SKIPS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            check, _, reason = line.partition(" ")
            skips[check] = reason.strip()
    return skips


def test_checkov_findings_are_exactly_the_documented_skips(packaged: dict[str, Any]) -> None:
    skips = _skips()
    assert skips and all(len(reason) > 20 for reason in skips.values()), skips
    result = subprocess.run(
        [
            str(CHECKS_PYTHON.with_name("checkov")),
            "--file",
            str(packaged["translated_path"]),
            "--framework",
            "cloudformation",
            "--skip-download",
            "--compact",
            "--quiet",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = {f["check_id"] for r in reports for f in r["results"]["failed_checks"]}
    passed = sum(r["summary"]["passed"] for r in reports)
    assert passed > 30, result.stdout[-2000:]
    assert failed - set(skips) == set(), f"new checkov findings: fix them or skip with a reason: {failed - set(skips)}"
    assert set(skips) - failed == set(), f"skips that no longer find anything: {set(skips) - failed}"


def test_package_names_no_region_account_or_local_value(packaged: dict[str, Any]) -> None:
    text = json.dumps(packaged["sam"])
    assert not REGION_LITERAL.search(text), REGION_LITERAL.search(text)
    assert "000000000000" not in text and "123456789012" not in text
    variables = packaged["sam"]["Globals"]["Function"]["Environment"]["Variables"]
    assert variables == cfn.function_environment()
    for resource in packaged["sam"]["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            env = resource["Properties"]["Environment"]["Variables"]
            assert env["AUTH_MODE"] == "app"  # the app verifies tokens itself, as locally
            assert not {k for k in env if k.startswith(("TABLE_", "BUCKET_", "USER_POOL_", "STREAM_ARN_"))} - {
                "TABLE_PREFIX"
            }


def _resolve(value: Any, env: dict[str, str], resources: dict[str, Any]) -> str:
    """A name as CloudFormation would write it, for Fn::Sub / Ref / plain strings."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return env[value["Ref"]]
    text = value["Fn::Sub"]
    for key, replacement in env.items():
        text = text.replace("${" + key + "}", replacement)
    assert "${" not in text, text
    return text


def test_definition_template_and_policy_name_the_same_resources(packaged: dict[str, Any]) -> None:
    template = packaged["translated"]
    resources = template["Resources"]
    env = {
        "StagePrefix": template["Parameters"]["StagePrefix"]["Default"],
        "AWS::AccountId": "123456789012",
        "AWS::Region": "eu-west-1",
        "AWS::Partition": "aws",
        "UserPool.Arn": "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_x",
        "WebsocketAPI": "a1b2c3d4e5",
    }
    names = iam.Names(
        prefix=env["StagePrefix"],
        account=env["AWS::AccountId"],
        region=env["AWS::Region"],
        user_pool_arn=env["UserPool.Arn"],
        websocket_api=env["WebsocketAPI"],
    )

    def of_type(kind: str, prop: str) -> set[str]:
        return {_resolve(r["Properties"][prop], env, resources) for r in resources.values() if r["Type"] == kind}

    tables = of_type("AWS::DynamoDB::Table", "TableName")
    buckets = of_type("AWS::S3::Bucket", "BucketName")
    queues = of_type("AWS::SQS::Queue", "QueueName")
    assert tables == {names.table(t.key) for t in DATA.tables}
    assert buckets == {names.bucket(b.key) for b in DATA.buckets}
    assert queues == {names.queue(q.key) for q in DEPLOYMENT.queues}

    policy = resources[cfn.FUNCTION_ROLE]["Properties"]["Policies"][0]["PolicyDocument"]
    granted: set[str] = set()
    for statement in policy["Statement"]:
        items = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        granted |= {_resolve(item, env, resources) for item in items}
    assert {
        arn.split("table/")[1] for arn in granted if ":table/" in arn and "/" not in arn.split("table/")[1]
    } == tables
    assert {arn.split(":::")[1] for arn in granted if arn.startswith("arn:aws:s3:::") and "/" not in arn} == buckets
    assert {arn.rsplit(":", 1)[1] for arn in granted if ":sqs:" in arn} == queues
    ws = DEPLOYMENT.websocket
    assert ws is not None and "WebsocketAPI" in resources
    assert {arn for arn in granted if ":execute-api:" in arn} == set(
        names.connections_arns(ws.stage, ws.management_methods)
    )
    functions = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    assert functions
    log_group = _resolve(resources[cfn.FUNCTION_LOGS]["Properties"]["LogGroupName"], env, resources)
    for function in functions:
        assert function["Properties"]["Role"] == {"Fn::GetAtt": [cfn.FUNCTION_ROLE, "Arn"]}
        assert function["Properties"]["LoggingConfig"]["LogGroup"] == {"Ref": cfn.FUNCTION_LOGS}
    assert names.log_group_arn() in granted and log_group == names.log_group_name()
    # The only roles: the functions' one and API Gateway's logging role.
    roles = {k for k, v in resources.items() if v["Type"] == "AWS::IAM::Role"}
    assert roles == {cfn.FUNCTION_ROLE, cfn.API_LOGS_ROLE}


def test_every_stream_handler_reads_a_stack_stream_with_retry_limits(packaged: dict[str, Any]) -> None:
    mappings = [
        r["Properties"]
        for r in packaged["translated"]["Resources"].values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
    ]
    assert len(mappings) == len(DEPLOYMENT.stream_consumers)
    for mapping in mappings:
        assert mapping["EventSourceArn"]["Fn::GetAtt"][1] == "StreamArn"
        assert mapping["MaximumRetryAttempts"] >= 0 and mapping["BisectBatchOnFunctionError"] is True
        assert "OnFailure" in mapping["DestinationConfig"]


def test_stack_deploy_on_the_standin_goes_up_to_moto_missing_sam_and_cognito(
    packaged: dict[str, Any], standin: StandIn
) -> None:
    """`make deploy`'s steps against the stand-in: artifacts bucket, uploads, change set.

    moto executes no SAM transform and has no CloudFormation model for Cognito user pools,
    so executing the change set fails inside moto; everything before is checked.
    """
    session = boto3.session.Session(region_name="us-east-1")
    target = deploy.Target(session, "prod")
    assert target.artifacts_bucket == f"game-backend-artifacts-{target.account}-us-east-1"
    package = packaged["sam_path"].parent
    lines: list[str] = []
    # moto's limit: it runs no SAM transform (AWS::Serverless::* are unknown to it, and it
    # fails on the untranslated event sources) and has no AWS::Cognito::UserPool model.
    with pytest.raises((ClientError, ResponseParserError)):
        deploy.deploy(target, package_dir=package, report=lines.append)
    stack = deploy.describe_stack(session.client("cloudformation"), target.stack_name)
    assert stack is not None and stack["StackStatus"] == "REVIEW_IN_PROGRESS"  # never executed
    s3 = session.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=target.artifacts_bucket)["Contents"]]
    code = f"game-backend/prod/code-{deploy.content_hash(package / 'deployment.zip')}.zip"
    assert code in keys and any(k.startswith("game-backend/prod/template-") for k in keys)
    encryption = s3.get_bucket_encryption(Bucket=target.artifacts_bucket)["ServerSideEncryptionConfiguration"]
    assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert all(s3.get_public_access_block(Bucket=target.artifacts_bucket)["PublicAccessBlockConfiguration"].values())
    assert any(line.startswith("applying ") for line in lines)
    sets = session.client("cloudformation").list_change_sets(StackName=target.stack_name)["Summaries"]
    assert sets, "the change set was created"
    # A second run uploads nothing: the keys are content hashes.
    again: list[str] = []
    with pytest.raises((ClientError, ResponseParserError)):
        deploy.deploy(target, package_dir=package, report=again.append)
    assert not [line for line in again if line.startswith("uploaded")]
