"""Idempotent provisioning of the local stand-in from the data definition.

Everything here is driven by `chalicelib.storage.schema.DATA` and takes boto3 clients as
parameters. Existing resources are found by name and left alone (or completed: a missing
index, stream, TTL or CORS rule is added); nothing is ever created twice. The pool is made
as the stack makes it (no public sign-up).

AWS itself is never provisioned from here: CloudFormation creates every AWS resource from
the same definitions (tools.cfn, `make deploy`), so the deploy state lives in the stack and
nothing is written into the tracked `.chalice/config.json`.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chalicelib.storage.schema import DATA, PASSWORD_POLICY, Bucket, DataDefinition, Index, Table

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CHALICE_CONFIG = PROJECT_ROOT / ".chalice" / "config.json"

ADMIN_GROUP = "admins"
CLIENT_AUTH_FLOWS = (
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
)
# Guests get generated passwords, so only the length is required; raise it for your game.
# Presigned uploads and downloads straight from game clients (WebGL builds need CORS).
CORS_RULES = [
    {
        "AllowedMethods": ["GET", "HEAD", "PUT"],
        "AllowedOrigins": ["*"],
        "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag"],
        "MaxAgeSeconds": 3000,
    }
]

Report = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


# -- names ----------------------------------------------------------------------------


def table_name(prefix: str, key: str) -> str:
    """The physical table name, as `Settings.table_name` derives it from the prefix."""
    return f"{prefix}-{key}"


def bucket_name(prefix: str, key: str, suffix: str = "") -> str:
    """Bucket names are global across AWS accounts: give real AWS a suffix (the account)."""
    return f"{prefix}-{key}-{suffix}" if suffix else f"{prefix}-{key}"


def env_key(kind: str, key: str) -> str:
    """TABLE_PLAYERS, BUCKET_SAVES, STREAM_ARN_EVENTS: the variables the app reads."""
    return f"{kind}_{key.upper()}"


# -- DynamoDB -------------------------------------------------------------------------


def _key_schema(partition: Any, sort: Any) -> list[dict[str, str]]:
    schema = [{"AttributeName": partition.name, "KeyType": "HASH"}]
    if sort is not None:
        schema.append({"AttributeName": sort.name, "KeyType": "RANGE"})
    return schema


def _index_spec(index: Index) -> dict[str, Any]:
    projection = {"ProjectionType": "KEYS_ONLY" if index.keys_only else "ALL"}
    return {
        "IndexName": index.name,
        "KeySchema": _key_schema(index.partition, index.sort),
        "Projection": projection,
    }


def _attribute_definitions(table: Table) -> list[dict[str, str]]:
    return [{"AttributeName": name, "AttributeType": attr_type} for name, attr_type in table.attributes.items()]


def _describe_table(dynamodb: Any, name: str) -> dict[str, Any] | None:
    try:
        return dynamodb.describe_table(TableName=name)["Table"]  # type: ignore[no-any-return]
    except dynamodb.exceptions.ResourceNotFoundException:
        return None


def _wait_active(dynamodb: Any, name: str, poll_seconds: float) -> dict[str, Any]:
    while True:
        description = _describe_table(dynamodb, name)
        if description is not None:
            indexes = description.get("GlobalSecondaryIndexes", [])
            if description["TableStatus"] == "ACTIVE" and all(
                index.get("IndexStatus", "ACTIVE") == "ACTIVE" for index in indexes
            ):
                return description
        time.sleep(poll_seconds)


def ensure_table(
    dynamodb: Any,
    name: str,
    table: Table,
    *,
    report: Report = _quiet,
    poll_seconds: float = 2.0,
) -> dict[str, Any]:
    """Create the table if missing, add missing indexes and stream, enable TTL."""
    description = _describe_table(dynamodb, name)
    if description is None:
        params: dict[str, Any] = {
            "TableName": name,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": _key_schema(table.partition, table.sort),
            "AttributeDefinitions": _attribute_definitions(table),
        }
        if table.indexes:
            params["GlobalSecondaryIndexes"] = [_index_spec(i) for i in table.indexes]
        if table.stream:
            params["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": table.stream,
            }
        dynamodb.create_table(**params)
        report(f"created table {name}")
    else:
        existing = {i["IndexName"] for i in description.get("GlobalSecondaryIndexes", [])}
        for index in table.indexes:
            if index.name not in existing:
                # One index per update: DynamoDB refuses several creations at once.
                _wait_active(dynamodb, name, poll_seconds)
                dynamodb.update_table(
                    TableName=name,
                    AttributeDefinitions=_attribute_definitions(table),
                    GlobalSecondaryIndexUpdates=[{"Create": _index_spec(index)}],
                )
                report(f"added index {index.name} to table {name}")
        stream = description.get("StreamSpecification") or {}
        if table.stream and not (stream.get("StreamEnabled") and stream.get("StreamViewType") == table.stream):
            _wait_active(dynamodb, name, poll_seconds)
            if stream.get("StreamEnabled"):
                # The view type of a live stream cannot change: turn it off, then on.
                dynamodb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
                _wait_active(dynamodb, name, poll_seconds)
            dynamodb.update_table(
                TableName=name,
                StreamSpecification={"StreamEnabled": True, "StreamViewType": table.stream},
            )
            report(f"enabled the {table.stream} stream of table {name}")
    description = _wait_active(dynamodb, name, poll_seconds)
    if table.ttl_attribute:
        ensure_ttl(dynamodb, name, table.ttl_attribute, report=report)
    return description


def ensure_ttl(dynamodb: Any, name: str, attribute: str, *, report: Report = _quiet) -> None:
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and (ttl.get("AttributeName") == attribute):
        return
    dynamodb.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute},
    )
    report(f"enabled TTL on {name}.{attribute}")


# -- S3 -------------------------------------------------------------------------------


def _normalized_cors(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {key: sorted(value) if isinstance(value, list) else value for key, value in rule.items() if key != "ID"}
        for rule in rules
    ]


def ensure_bucket(s3: Any, name: str, bucket: Bucket, *, region: str, report: Report = _quiet) -> None:
    """Create the bucket if missing; set the CORS rules presigned client uploads need."""
    try:
        s3.head_bucket(Bucket=name)
    except Exception as exc:
        if _error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
            raise
        params: dict[str, Any] = {"Bucket": name}
        if region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**params)
        report(f"created bucket {name}")
    if not bucket.cors:
        return
    try:
        current = s3.get_bucket_cors(Bucket=name).get("CORSRules", [])
    except Exception as exc:
        if _error_code(exc) != "NoSuchCORSConfiguration":
            raise
        current = []
    if _normalized_cors(current) != _normalized_cors(CORS_RULES):
        s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": CORS_RULES})
        report(f"set CORS on bucket {name}")


# -- Cognito --------------------------------------------------------------------------


def find_user_pool(cognito: Any, name: str) -> dict[str, Any] | None:
    for page in cognito.get_paginator("list_user_pools").paginate(MaxResults=60):
        for pool in page["UserPools"]:
            if pool["Name"] == name:
                return pool  # type: ignore[no-any-return]
    return None


def ensure_user_pool(cognito: Any, name: str, *, report: Report = _quiet) -> dict[str, Any]:
    """The pool named `name` (created if missing): email alias, minimum password length."""
    found = find_user_pool(cognito, name)
    if found is None:
        cognito.create_user_pool(
            PoolName=name,
            AliasAttributes=["email"],
            AutoVerifiedAttributes=["email"],
            UsernameConfiguration={"CaseSensitive": False},
            Policies={"PasswordPolicy": PASSWORD_POLICY},
            AccountRecoverySetting={"RecoveryMechanisms": [{"Priority": 1, "Name": "verified_email"}]},
            # As in the stack: accounts are made by the auth service, never by a public SignUp.
            AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
        )
        report(f"created user pool {name}")
        found = find_user_pool(cognito, name)
        assert found is not None
    return cognito.describe_user_pool(UserPoolId=found["Id"])["UserPool"]  # type: ignore[no-any-return]


def ensure_user_pool_client(cognito: Any, pool_id: str, name: str, *, report: Report = _quiet) -> dict[str, Any]:
    """A public app client (no secret) allowing password and refresh-token sign-in."""
    for page in cognito.get_paginator("list_user_pool_clients").paginate(UserPoolId=pool_id, MaxResults=60):
        for client in page["UserPoolClients"]:
            if client["ClientName"] == name:
                described = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client["ClientId"])[
                    "UserPoolClient"
                ]
                if set(described.get("ExplicitAuthFlows", [])) != set(CLIENT_AUTH_FLOWS):
                    cognito.update_user_pool_client(
                        UserPoolId=pool_id,
                        ClientId=client["ClientId"],
                        ClientName=name,
                        ExplicitAuthFlows=list(CLIENT_AUTH_FLOWS),
                        PreventUserExistenceErrors="ENABLED",
                    )
                    report(f"updated the auth flows of app client {name}")
                return described  # type: ignore[no-any-return]
    created = cognito.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=name,
        GenerateSecret=False,
        ExplicitAuthFlows=list(CLIENT_AUTH_FLOWS),
        PreventUserExistenceErrors="ENABLED",
    )["UserPoolClient"]
    report(f"created app client {name}")
    return created  # type: ignore[no-any-return]


def ensure_group(cognito: Any, pool_id: str, group: str = ADMIN_GROUP, *, report: Report = _quiet) -> None:
    try:
        cognito.get_group(UserPoolId=pool_id, GroupName=group)
    except cognito.exceptions.ResourceNotFoundException:
        cognito.create_group(UserPoolId=pool_id, GroupName=group, Description="Studio administrators")
        report(f"created group {group}")


def ensure_admin_user(
    cognito: Any,
    pool_id: str,
    username: str,
    password: str,
    *,
    group: str = ADMIN_GROUP,
    report: Report = _quiet,
) -> None:
    """A confirmed user with a permanent password, member of `group`; idempotent."""
    ensure_group(cognito, pool_id, group, report=report)
    try:
        cognito.admin_get_user(UserPoolId=pool_id, Username=username)
    except cognito.exceptions.UserNotFoundException:
        cognito.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS")
        report(f"created user {username}")
    # Always set: the configured password is the one that works, even if it changed.
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)
    groups = cognito.admin_list_groups_for_user(UserPoolId=pool_id, Username=username)
    if group not in {g["GroupName"] for g in groups["Groups"]}:
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=group)
        report(f"added {username} to group {group}")


# -- everything -----------------------------------------------------------------------


def provision(
    *,
    dynamodb: Any,
    s3: Any,
    cognito: Any,
    prefix: str,
    region: str,
    data: DataDefinition = DATA,
    bucket_names: dict[str, str] | None = None,
    report: Report = _quiet,
    poll_seconds: float = 2.0,
) -> dict[str, Any]:
    """Provision every table, bucket and the user pool; return names, ARNs and env vars."""
    tables: dict[str, dict[str, str]] = {}
    env: dict[str, str] = {}
    for table in data.tables:
        name = table_name(prefix, table.key)
        description = ensure_table(dynamodb, name, table, report=report, poll_seconds=poll_seconds)
        tables[table.key] = {"name": name, "arn": description["TableArn"]}
        env[env_key("TABLE", table.key)] = name
        if table.stream:
            stream_arn = description["LatestStreamArn"]
            tables[table.key]["stream_arn"] = stream_arn
            env[env_key("STREAM_ARN", table.key)] = stream_arn
    buckets: dict[str, dict[str, str]] = {}
    for bucket in data.buckets:
        name = (bucket_names or {}).get(bucket.key) or bucket_name(prefix, bucket.key)
        ensure_bucket(s3, name, bucket, region=region, report=report)
        buckets[bucket.key] = {"name": name, "arn": f"arn:aws:s3:::{name}"}
        env[env_key("BUCKET", bucket.key)] = name
    pool = ensure_user_pool(cognito, f"{prefix}-players", report=report)
    client = ensure_user_pool_client(cognito, pool["Id"], f"{prefix}-game", report=report)
    ensure_group(cognito, pool["Id"], ADMIN_GROUP, report=report)
    env["USER_POOL_ID"] = pool["Id"]
    env["USER_POOL_ARN"] = pool["Arn"]
    env["USER_POOL_CLIENT_ID"] = client["ClientId"]
    return {
        "prefix": prefix,
        "region": region,
        "tables": tables,
        "buckets": buckets,
        "USER_POOL_ID": pool["Id"],
        "USER_POOL_ARN": pool["Arn"],
        "USER_POOL_CLIENT_ID": client["ClientId"],
        "env": env,
    }


def write_stage_environment(stage: str, env: dict[str, str], config_path: Path = CHALICE_CONFIG) -> bool:
    """Merge `env` into the stage's environment_variables; rewrite only on change.

    Existing keys keep their place; new keys are appended in sorted order.
    """
    text = config_path.read_text()
    config = json.loads(text)
    stage_config = config.setdefault("stages", {}).setdefault(stage, {})
    variables = stage_config.setdefault("environment_variables", {})
    for key in sorted(env):
        variables[key] = env[key]
    new_text = json.dumps(config, indent=2) + "\n"
    if new_text == text:
        return False
    config_path.write_text(new_text)
    return True


def main(argv: list[str] | None = None) -> int:
    print(
        "tools.provision provisions the local stand-in only (python -m local_backend.run does it).\n"
        "AWS is provisioned by CloudFormation from the same definitions: make deploy (see README, Deploying).",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())
