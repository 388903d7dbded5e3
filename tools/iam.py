"""The Lambda functions' IAM policy, written from the data and deployment definitions.

    python -m tools.iam [--stage prod]                       # the stack's policy (CloudFormation form)
    python -m tools.iam --stage dev --account-id ID --region R  # concrete ARNs (the chalice deploy path)

There is one generator and two renderings of the same statements:

- in the stack (`make deploy`), the role `FunctionRole` carries the policy with every
  account, region and name written as a CloudFormation substitution (`${AWS::AccountId}`,
  `${StagePrefix}`, `${UserPool.Arn}`), so the template names exactly the stack's own
  resources whatever account, region or stage it is deployed to;
- on the `chalice deploy` path (`python -m tools.deploy chalice`), the same statements are
  rendered with the account, region and user pool of the data stack, into the generated,
  git-ignored project that Chalice deploys.

No account's ids are ever committed. Every grant names a resource built from DATA and
DEPLOYMENT with the naming rules below; the tests compare them with the template.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Any

from chalicelib.storage.schema import DATA, DEPLOYMENT, DataDefinition, DeploymentDefinition
from tools.stage_config import stage_environment

# What the repositories call. No Scan (no request path scans), no table management.
# TransactWriteItems/TransactGetItems are not IAM actions: a transaction is authorised item
# by item as the PutItem, UpdateItem, DeleteItem, ConditionCheckItem or GetItem it holds.
TABLE_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
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
# The stream mapping's on-failure destination is written with the function's role.
QUEUE_ACTIONS = ("sqs:SendMessage",)
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
# Pushes to open WebSocket connections (and closing a deleted account's) through `@connections`.
WEBSOCKET_ACTIONS = ("execute-api:ManageConnections",)
# X-Ray has no resource-level permissions: these two actions only accept "*".
TRACING_ACTIONS = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")

STACK_PREFIX = "${StagePrefix}"


@dataclass(frozen=True)
class Names:
    """The physical names of a stage's resources: concrete, or CloudFormation `${...}` forms.

    The naming rules, shared by the stack (tools.cfn), the policy and the app's settings:
    tables and queues `<prefix>-<key>`; buckets `<prefix>-<key>-<account>-<region>`
    (bucket names are global across every AWS account); the functions' log group
    `/aws/lambda/<prefix>` (the stack sends every function there, see tools.cfn) or, on
    the chalice deploy path, Chalice's own `/aws/lambda/<app>-<stage>*` groups.
    """

    prefix: str
    account: str
    region: str
    user_pool_arn: str
    partition: str = "aws"
    log_group: str = ""  # default: /aws/lambda/<prefix>
    # The WebSocket API's id: the stack's own (`${WebsocketAPI}`); on the chalice deploy
    # path it is made by the deploy itself, so any API of the account, region and stage.
    websocket_api: str = "*"
    # The stack makes its log group; on the chalice deploy path Lambda makes them on first use.
    functions_create_log_groups: bool = False

    def table(self, key: str) -> str:
        return f"{self.prefix}-{key}"

    def bucket(self, key: str) -> str:
        return f"{self.prefix}-{key}-{self.account}-{self.region}"

    def queue(self, key: str) -> str:
        return f"{self.prefix}-{key}"

    def table_arn(self, key: str) -> str:
        return f"arn:{self.partition}:dynamodb:{self.region}:{self.account}:table/{self.table(key)}"

    def bucket_arn(self, key: str) -> str:
        return f"arn:{self.partition}:s3:::{self.bucket(key)}"

    def queue_arn(self, key: str) -> str:
        return f"arn:{self.partition}:sqs:{self.region}:{self.account}:{self.queue(key)}"

    def connections_arns(self, stage: str, methods: tuple[str, ...]) -> list[str]:
        """The `@connections` resources of the WebSocket API's stage, per HTTP method."""
        return [
            f"arn:{self.partition}:execute-api:{self.region}:{self.account}:{self.websocket_api}/{stage}/{method}/@connections/*"
            for method in methods
        ]

    def log_group_name(self) -> str:
        return self.log_group or f"/aws/lambda/{self.prefix}"

    def log_group_arn(self) -> str:
        return f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:{self.log_group_name()}"


def stack_names() -> Names:
    """The names as the stack writes them, resolved by CloudFormation at deploy time."""
    return Names(
        prefix=STACK_PREFIX,
        account="${AWS::AccountId}",
        region="${AWS::Region}",
        partition="${AWS::Partition}",
        user_pool_arn="${UserPool.Arn}",
        websocket_api="${WebsocketAPI}",
    )


def _statement(sid: str, actions: tuple[str, ...], resources: list[str]) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": resources if len(resources) > 1 else resources[0],
    }


def build_policy(
    names: Names,
    data: DataDefinition = DATA,
    deployment: DeploymentDefinition = DEPLOYMENT,
    *,
    tracing: bool | None = None,
) -> dict[str, Any]:
    """The policy document: least privilege on exactly the resources of the definitions."""
    tables = [names.table_arn(t.key) for t in data.tables]
    indexes = [f"{names.table_arn(t.key)}/index/*" for t in data.tables if t.indexes]
    streams = [f"{names.table_arn(t.key)}/stream/*" for t in data.tables if t.stream]
    statements = [_statement("Tables", TABLE_ACTIONS, tables)]
    if indexes:
        statements.append(_statement("TableIndexes", INDEX_ACTIONS, indexes))
    if streams:
        statements.append(_statement("TableStreams", STREAM_ACTIONS, streams))
    if data.buckets:
        statements.append(
            _statement("BucketObjects", OBJECT_ACTIONS, [f"{names.bucket_arn(b.key)}/*" for b in data.buckets])
        )
        statements.append(_statement("Buckets", BUCKET_ACTIONS, [names.bucket_arn(b.key) for b in data.buckets]))
    failure_queues = sorted({c.on_failure_queue for c in deployment.stream_consumers})
    if failure_queues:
        statements.append(_statement("FailureQueues", QUEUE_ACTIONS, [names.queue_arn(q) for q in failure_queues]))
    statements.append(_statement("UserPool", USER_POOL_ACTIONS, [names.user_pool_arn]))
    if deployment.websocket is not None:
        ws = deployment.websocket
        statements.append(
            _statement(
                "WebSocketConnections", WEBSOCKET_ACTIONS, names.connections_arns(ws.stage, ws.management_methods)
            )
        )
    log_group = names.log_group_arn()
    log_actions = (*LOG_ACTIONS, "logs:CreateLogGroup") if names.functions_create_log_groups else LOG_ACTIONS
    statements.append(_statement("Logs", log_actions, [log_group, f"{log_group}:*"]))
    if deployment.api.tracing if tracing is None else tracing:
        statements.append(_statement("Tracing", TRACING_ACTIONS, ["*"]))
    return {"Version": "2012-10-17", "Statement": statements}


def _sub(value: str) -> Any:
    return {"Fn::Sub": value} if "${" in value else value


def as_cloudformation(policy: dict[str, Any]) -> dict[str, Any]:
    """The same document with every `${...}` resource wrapped in Fn::Sub."""
    statements = []
    for statement in policy["Statement"]:
        resource = statement["Resource"]
        resource = [_sub(r) for r in resource] if isinstance(resource, list) else _sub(resource)
        statements.append({**statement, "Resource": resource})
    return {**policy, "Statement": statements}


def stack_policy(data: DataDefinition = DATA, deployment: DeploymentDefinition = DEPLOYMENT) -> dict[str, Any]:
    """The policy of the stack's FunctionRole, in CloudFormation form."""
    return as_cloudformation(build_policy(stack_names(), data, deployment))


def concrete_names(stage: str, *, account_id: str, region: str, user_pool_arn: str, app: str = "game-backend") -> Names:
    """The names of a stage in one account and region (the chalice deploy path)."""
    prefix = stage_environment(stage).get("TABLE_PREFIX") or f"game-{stage}"
    partition = user_pool_arn.split(":")[1] if user_pool_arn.startswith("arn:") else "aws"
    return Names(
        prefix=prefix,
        account=account_id,
        region=region,
        partition=partition,
        user_pool_arn=user_pool_arn,
        # chalice deploy names each function after the app and stage (the API handler is
        # `<app>-<stage>`, the others `<app>-<stage>-<name>`) and so their log groups.
        log_group=f"/aws/lambda/{app}-{stage}*",
        functions_create_log_groups=True,
    )


def render(policy: dict[str, Any]) -> str:
    return json.dumps(policy, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.iam", description=__doc__.split("\n")[0])
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--account-id", help="12 digits: print the concrete policy of this account")
    parser.add_argument("--region", help="with --account-id: the region")
    parser.add_argument("--user-pool-arn", default="", help="with --account-id: the stage's user pool")
    args = parser.parse_args(argv)
    if args.account_id is None:
        stage_environment(args.stage)  # fails clearly on an unknown stage
        sys.stdout.write(render(stack_policy()))
        return 0
    if not (args.account_id.isdigit() and len(args.account_id) == 12):
        parser.error(f"--account-id must be 12 digits, got {args.account_id!r}")
    if not args.region:
        parser.error("--region is needed with --account-id")
    pool = args.user_pool_arn or f"arn:aws:cognito-idp:{args.region}:{args.account_id}:userpool/*"
    names = concrete_names(args.stage, account_id=args.account_id, region=args.region, user_pool_arn=pool)
    sys.stdout.write(render(build_policy(names)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
