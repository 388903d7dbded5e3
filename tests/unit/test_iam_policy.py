"""The functions' IAM policy: least privilege, every resource named through the definitions."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.storage.schema import DATA, DEPLOYMENT
from tools import iam

ACCOUNT, REGION = "123456789012", "eu-west-1"
POOL = f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{REGION}_abc"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _concrete() -> dict[str, Any]:
    names = iam.concrete_names("prod", account_id=ACCOUNT, region=REGION, user_pool_arn=POOL)
    return iam.build_policy(names)


def test_no_wildcard_action_and_star_only_for_tracing() -> None:
    for statement in _concrete()["Statement"]:
        assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement and "NotResource" not in statement
        for action in _as_list(statement["Action"]):
            assert "*" not in action, action
        if statement["Sid"] == "Tracing":
            # X-Ray has no resource-level permissions.
            assert statement["Resource"] == "*"
            assert set(statement["Action"]) == set(iam.TRACING_ACTIONS)
        else:
            for resource in _as_list(statement["Resource"]):
                assert resource.startswith("arn:aws:"), resource


def test_transactions_are_not_iam_actions() -> None:
    # TransactWriteItems/TransactGetItems are authorised item by item (cfn-lint W3037).
    actions = {a for s in _concrete()["Statement"] for a in _as_list(s["Action"])}
    assert not {a for a in actions if "Transact" in a}
    assert {"dynamodb:ConditionCheckItem", "dynamodb:PutItem", "dynamodb:UpdateItem"} <= actions


def test_every_store_of_the_definitions_is_granted_and_nothing_else() -> None:
    names = iam.concrete_names("prod", account_id=ACCOUNT, region=REGION, user_pool_arn=POOL)
    by_resource: dict[str, set[str]] = {}
    for statement in iam.build_policy(names)["Statement"]:
        for resource in _as_list(statement["Resource"]):
            by_resource.setdefault(resource, set()).update(_as_list(statement["Action"]))
    expected = set()
    for table in DATA.tables:
        arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/game-prod-{table.key}"
        expected.add(arn)
        assert {"dynamodb:GetItem", "dynamodb:Query"} <= by_resource[arn]
        if table.indexes:
            expected.add(f"{arn}/index/*")
            assert by_resource[f"{arn}/index/*"] == {"dynamodb:Query"}
        if table.stream:
            expected.add(f"{arn}/stream/*")
            assert "dynamodb:GetRecords" in by_resource[f"{arn}/stream/*"]
    for bucket in DATA.buckets:
        # Bucket names are global: the account and region are part of the name.
        arn = f"arn:aws:s3:::game-prod-{bucket.key}-{ACCOUNT}-{REGION}"
        expected |= {arn, f"{arn}/*"}
        assert {"s3:GetObject", "s3:PutObject"} <= by_resource[f"{arn}/*"]
    data_resources = {r for r, a in by_resource.items() if any(x.startswith(("dynamodb:", "s3:")) for x in a)}
    assert data_resources == expected
    for consumer in DEPLOYMENT.stream_consumers:
        queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:game-prod-{consumer.on_failure_queue}"
        assert by_resource[queue] == {"sqs:SendMessage"}
    assert by_resource[POOL] == set(iam.USER_POOL_ACTIONS)


def test_the_stack_policy_substitutes_every_account_region_and_name() -> None:
    policy = iam.stack_policy()
    text = json.dumps(policy)
    assert ACCOUNT not in text and "game-prod" not in text and "us-east-1" not in text
    for statement in policy["Statement"]:
        for resource in _as_list(statement["Resource"]):
            if resource == "*":
                continue
            assert isinstance(resource, dict) and set(resource) == {"Fn::Sub"}, resource
            assert resource["Fn::Sub"].startswith(("arn:${AWS::Partition}:", "${UserPool.Arn}")), resource
    pool = next(s for s in policy["Statement"] if s["Sid"] == "UserPool")
    assert pool["Resource"] == {"Fn::Sub": "${UserPool.Arn}"}
    logs = next(s for s in policy["Statement"] if s["Sid"] == "Logs")
    assert {
        "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/${StagePrefix}"
    } in logs["Resource"]


def test_command_prints_the_stack_policy(capsys: Any) -> None:
    assert iam.main(["--stage", "prod"]) == 0
    assert json.loads(capsys.readouterr().out) == iam.stack_policy()


def test_chalice_path_policy_covers_every_function_log_group() -> None:
    statements = {s["Sid"]: s for s in _concrete()["Statement"]}
    logs = statements["Logs"]
    assert f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/game-backend-prod*" in logs["Resource"]
    # No log group is made in advance on that path: Lambda creates them.
    assert "logs:CreateLogGroup" in logs["Action"]
    stack_logs = next(s for s in iam.stack_policy()["Statement"] if s["Sid"] == "Logs")
    assert "logs:CreateLogGroup" not in stack_logs["Action"]
