"""The committed IAM policies: least privilege, every store covered, no drift from DATA."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.storage.schema import DATA
from tools import iam
from tools.stage_config import PROJECT_DIR, chalice_config

POLICY_STAGES = [
    name
    for name, block in chalice_config()["stages"].items()
    if block.get("iam_policy_file") and block.get("autogen_policy") is False
]
DATA_SERVICES = ("dynamodb:", "s3:", "cognito-idp:")


def _load(stage: str) -> dict[str, Any]:
    return json.loads(iam.policy_path(stage).read_text(encoding="utf-8"))


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _statements(stage: str) -> list[dict[str, Any]]:
    return list(_load(stage)["Statement"])


def test_prod_writes_its_own_policy() -> None:
    assert "prod" in POLICY_STAGES


@pytest.mark.parametrize("stage", POLICY_STAGES)
def test_committed_policy_is_what_the_generator_writes(stage: str) -> None:
    target = iam.resolve_target(stage)
    expected = iam.render(iam.build_policy(target))
    assert iam.policy_path(stage).read_text(encoding="utf-8") == expected, (
        f"run: python -m tools.iam --stage {stage}"
    )


@pytest.mark.parametrize("stage", POLICY_STAGES)
def test_no_wildcard_actions_and_no_star_resource(stage: str) -> None:
    for statement in _statements(stage):
        assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement and "NotResource" not in statement
        for action in _as_list(statement["Action"]):
            assert "*" not in action, f"wildcard action {action} in {statement['Sid']}"
        for resource in _as_list(statement["Resource"]):
            assert resource != "*", f"Resource * in {statement['Sid']}"
            # No wildcard in the service or resource type part of any ARN.
            assert resource.startswith("arn:aws:"), resource


@pytest.mark.parametrize("stage", POLICY_STAGES)
def test_data_actions_name_their_resources(stage: str) -> None:
    for statement in _statements(stage):
        actions = _as_list(statement["Action"])
        if not any(a.startswith(DATA_SERVICES) for a in actions):
            continue
        for resource in _as_list(statement["Resource"]):
            parts = resource.split(":", 5)
            service, rest = parts[2], parts[5]
            assert service in ("dynamodb", "s3", "cognito-idp"), resource
            if service == "dynamodb":
                # table/<exact name>[/index/*|/stream/*]
                kind, name, *tail = rest.split("/")
                assert kind == "table" and "*" not in name, resource
                assert tail in ([], ["index", "*"], ["stream", "*"]), resource
            if service == "s3":
                bucket = rest.split("/")[0]
                assert "*" not in bucket, resource


@pytest.mark.parametrize("stage", POLICY_STAGES)
def test_every_store_in_data_is_covered_and_nothing_else(stage: str) -> None:
    target = iam.resolve_target(stage)
    by_resource: dict[str, set[str]] = {}
    for statement in _statements(stage):
        for resource in _as_list(statement["Resource"]):
            by_resource.setdefault(resource, set()).update(
                _as_list(statement["Action"])
            )

    expected: set[str] = set()
    for table in DATA.tables:
        arn = target.table_arn(table.key)
        expected.add(arn)
        assert {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:TransactWriteItems",
        } <= by_resource[arn], table.key
        if table.indexes:
            expected.add(f"{arn}/index/*")
            assert by_resource[f"{arn}/index/*"] == {"dynamodb:Query"}
        if table.stream:
            expected.add(f"{arn}/stream/*")
            assert "dynamodb:GetRecords" in by_resource[f"{arn}/stream/*"]
    for bucket in DATA.buckets:
        arn = target.bucket_arn(bucket.key)
        expected |= {arn, f"{arn}/*"}
        assert {"s3:GetObject", "s3:PutObject"} <= by_resource[f"{arn}/*"]

    data_resources = {
        r
        for r, actions in by_resource.items()
        if any(a.startswith(("dynamodb:", "s3:")) for a in actions)
    }
    assert data_resources == expected
    # Stream reads only where DATA declares a stream.
    for resource, actions in by_resource.items():
        if any(a in iam.STREAM_ACTIONS for a in actions):
            assert resource.endswith("/stream/*")


@pytest.mark.parametrize("stage", POLICY_STAGES)
def test_user_pool_and_logs_are_scoped(stage: str) -> None:
    target = iam.resolve_target(stage)
    statements = {s["Sid"]: s for s in _statements(stage)}
    assert statements["UserPool"]["Resource"] == target.user_pool_arn()
    assert all(
        a.startswith("cognito-idp:Admin") for a in statements["UserPool"]["Action"]
    )
    logs = statements["Logs"]["Resource"]
    assert ":log-group:/aws/lambda/" in logs and logs.endswith(f"-{stage}*")


def test_concrete_account_and_region_reach_every_arn(tmp_path: Path) -> None:
    target = iam.Target(
        app_name="game-backend",
        stage="prod",
        settings=iam.resolve_target("prod").settings,
        account_id="123456789012",
        region="eu-west-1",
    )
    policy = iam.build_policy(target)
    for statement in policy["Statement"]:
        for resource in _as_list(statement["Resource"]):
            if not resource.startswith("arn:aws:s3:"):
                assert ":eu-west-1:123456789012:" in resource, resource


def test_pool_arn_in_stage_config_gives_account_and_region(tmp_path: Path) -> None:
    (tmp_path / ".chalice").mkdir()
    config = chalice_config(PROJECT_DIR)
    pool = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_abc"
    config["stages"]["prod"]["environment_variables"]["USER_POOL_ARN"] = pool
    config["stages"]["prod"]["environment_variables"]["TABLE_PLAYERS"] = "players-xyz"
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(config))
    target = iam.resolve_target("prod", project_dir=tmp_path)
    assert (target.account_id, target.region) == ("123456789012", "eu-west-1")
    assert target.user_pool_arn() == pool
    assert target.table_arn("players") == (
        "arn:aws:dynamodb:eu-west-1:123456789012:table/players-xyz"
    )
    with pytest.raises(SystemExit):
        iam.resolve_target("prod", account_id="999999999999", project_dir=tmp_path)
