"""The Lambda functions' IAM policy for a stage, written from the data definition.

    python -m tools.iam --stage prod [--account-id ID] [--region REGION] [--check]

writes `.chalice/<iam_policy_file of the stage>` (`policy-prod.json`), which both
`chalice deploy --stage prod` and `chalice package --stage prod` attach to every function
(`autogen_policy` is false: Chalice's generated policy would grant far too much).

Every grant names a resource built from DATA and the stage's settings:

- table names: the stage's `TABLE_<KEY>` variables when the provisioning command has
  written them into `.chalice/config.json`, otherwise `<TABLE_PREFIX>-<key>`, the same
  rule as `chalicelib.config.Settings` (and the names the CloudFormation template uses);
- bucket names likewise (`BUCKET_<KEY>`, otherwise `<TABLE_PREFIX>-<key>`);
- the user pool: the stage's `USER_POOL_ARN`, otherwise every pool of the account and
  region (`userpool/*`): a pool's id is chosen by Cognito when it is created;
- account and region: `--account-id`/`--region`, otherwise those of `USER_POOL_ARN`,
  otherwise those already in the policy file (so regenerating after a change to DATA
  keeps them), otherwise `*`. A `*` there still names the tables, bucket and log groups exactly; it
  only leaves open in which account and region they are. Regenerate with the account
  once it is known so the committed file holds concrete ARNs.

Log groups are scoped to `/aws/lambda/<app>-<stage>*`: the names `chalice deploy` gives
its functions, and those CloudFormation gives them when the stack is named
`<app>-<stage>` (`game-backend-prod`).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.config import Settings
from chalicelib.storage.schema import DATA, DataDefinition
from tools.stage_config import PROJECT_DIR, app_name, stage_block, stage_environment

# What the repositories call. No Scan (no request path scans), no table management.
TABLE_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:TransactGetItems",
    "dynamodb:TransactWriteItems",
    "dynamodb:UpdateItem",
)
# An index can only be queried.
INDEX_ACTIONS = ("dynamodb:Query",)
# What Lambda's event source mapping needs to read a table's stream.
STREAM_ACTIONS = (
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
)
# HeadObject is authorised by s3:GetObject; presigned URLs carry the function's rights.
OBJECT_ACTIONS = ("s3:DeleteObject", "s3:GetObject", "s3:PutObject")
# Without ListBucket, HeadObject on a missing key answers 403 instead of 404, and a save
# whose upload has not arrived yet would look like a permissions error.
BUCKET_ACTIONS = ("s3:ListBucket",)
USER_POOL_ACTIONS = (
    "cognito-idp:AdminAddUserToGroup",
    "cognito-idp:AdminCreateUser",
    "cognito-idp:AdminDeleteUser",
    "cognito-idp:AdminGetUser",
    "cognito-idp:AdminInitiateAuth",
    "cognito-idp:AdminListGroupsForUser",
    "cognito-idp:AdminSetUserPassword",
    "cognito-idp:AdminUpdateUserAttributes",
)
LOG_ACTIONS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")


@dataclass(frozen=True)
class Target:
    """Where the stage lives: enough to write every ARN."""

    app_name: str
    stage: str
    settings: Settings
    account_id: str = "*"
    region: str = "*"
    partition: str = "aws"

    def table_arn(self, key: str) -> str:
        name = self.settings.table_name(key)
        return f"arn:{self.partition}:dynamodb:{self.region}:{self.account_id}:table/{name}"

    def bucket_arn(self, key: str) -> str:
        return f"arn:{self.partition}:s3:::{self.settings.bucket_name(key)}"

    def user_pool_arn(self) -> str:
        if self.settings.user_pool_arn:
            return self.settings.user_pool_arn
        return f"arn:{self.partition}:cognito-idp:{self.region}:{self.account_id}:userpool/*"

    def log_group_arn(self) -> str:
        # The trailing * covers the functions' log groups and, after ':', their streams.
        prefix = f"/aws/lambda/{self.app_name}-{self.stage}"
        return f"arn:{self.partition}:logs:{self.region}:{self.account_id}:log-group:{prefix}*"


def _split_arn(arn: str) -> tuple[str, str, str]:
    """(partition, region, account) of an ARN."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        raise ValueError(f"not an ARN: {arn!r}")
    return parts[1], parts[3], parts[4]


def account_region_of(policy: dict[str, Any]) -> tuple[str, str, str] | None:
    """(partition, region, account) of the first table ARN in a policy document."""
    for statement in policy.get("Statement", []):
        resources = statement.get("Resource", [])
        for arn in [resources] if isinstance(resources, str) else resources:
            if ":dynamodb:" in arn:
                return _split_arn(arn)
    return None


def resolve_target(
    stage: str,
    *,
    account_id: str | None = None,
    region: str | None = None,
    project_dir: Path = PROJECT_DIR,
) -> Target:
    """The stage's names from its config; account and region as the module docstring says."""
    settings = Settings.from_env(stage_environment(stage, project_dir))
    partition = "aws"
    path = policy_path(stage, project_dir)
    if not (account_id or region or settings.user_pool_arn) and path.exists():
        previous = account_region_of(json.loads(path.read_text(encoding="utf-8")))
        if previous is not None:
            partition, prev_region, prev_account = previous
            account_id = None if prev_account == "*" else prev_account
            region = None if prev_region == "*" else prev_region
    if settings.user_pool_arn:
        partition, pool_region, pool_account = _split_arn(settings.user_pool_arn)
        for flag, given, known in (
            ("--account-id", account_id, pool_account),
            ("--region", region, pool_region),
        ):
            if given and given != known:
                raise SystemExit(
                    f"{flag} {given} disagrees with the stage's USER_POOL_ARN "
                    f"{settings.user_pool_arn}"
                )
        account_id, region = pool_account, pool_region
    return Target(
        app_name=app_name(project_dir),
        stage=stage,
        settings=settings,
        account_id=account_id or "*",
        region=region or "*",
        partition=partition,
    )


def _statement(
    sid: str, actions: tuple[str, ...], resources: list[str]
) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": resources if len(resources) > 1 else resources[0],
    }


def build_policy(target: Target, data: DataDefinition = DATA) -> dict[str, Any]:
    """The policy document: least privilege on exactly the stores in `data`."""
    tables = [target.table_arn(t.key) for t in data.tables]
    indexes = [f"{target.table_arn(t.key)}/index/*" for t in data.tables if t.indexes]
    streams = [f"{target.table_arn(t.key)}/stream/*" for t in data.tables if t.stream]
    statements = [_statement("Tables", TABLE_ACTIONS, tables)]
    if indexes:
        statements.append(_statement("TableIndexes", INDEX_ACTIONS, indexes))
    if streams:
        statements.append(_statement("TableStreams", STREAM_ACTIONS, streams))
    if data.buckets:
        statements.append(
            _statement(
                "BucketObjects",
                OBJECT_ACTIONS,
                [f"{target.bucket_arn(b.key)}/*" for b in data.buckets],
            )
        )
        statements.append(
            _statement(
                "Buckets",
                BUCKET_ACTIONS,
                [target.bucket_arn(b.key) for b in data.buckets],
            )
        )
    statements.append(
        _statement("UserPool", USER_POOL_ACTIONS, [target.user_pool_arn()])
    )
    statements.append(_statement("Logs", LOG_ACTIONS, [target.log_group_arn()]))
    return {"Version": "2012-10-17", "Statement": statements}


def render(policy: dict[str, Any]) -> str:
    return json.dumps(policy, indent=2) + "\n"


def policy_path(stage: str, project_dir: Path = PROJECT_DIR) -> Path:
    name = str(
        stage_block(stage, project_dir).get("iam_policy_file", f"policy-{stage}.json")
    )
    return project_dir / ".chalice" / name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.iam", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--stage", default="prod")
    parser.add_argument(
        "--account-id",
        help="AWS account id (12 digits); default: from USER_POOL_ARN, else *",
    )
    parser.add_argument(
        "--region", help="AWS region; default: from USER_POOL_ARN, else *"
    )
    parser.add_argument(
        "--out", type=Path, help="where to write (default: the stage's iam_policy_file)"
    )
    parser.add_argument(
        "--check", action="store_true", help="fail if the file differs, write nothing"
    )
    args = parser.parse_args(argv)

    if args.account_id and not (
        args.account_id.isdigit() and len(args.account_id) == 12
    ):
        parser.error(f"--account-id must be 12 digits, got {args.account_id!r}")
    target = resolve_target(args.stage, account_id=args.account_id, region=args.region)
    text = render(build_policy(target))
    out: Path = args.out or policy_path(args.stage)
    if args.check:
        current = out.read_text(encoding="utf-8") if out.exists() else ""
        if current != text:
            print(
                f"{out} is out of date: run python -m tools.iam --stage {args.stage}",
                file=sys.stderr,
            )
            return 1
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
