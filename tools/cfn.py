"""CloudFormation resources for `chalice package --merge-template`, from the data definition.

    python -m tools.cfn [--stage prod] [--out build/merge.json] [--app-dir .]
    chalice package --stage prod --merge-template build/merge.json build/package

Adds to Chalice's SAM template: every table of DATA, the bucket(s), the Cognito user
pool, its app client and the admin group, and Outputs naming them. Physical names are
`<StagePrefix>-<key>`, the rule `chalicelib.config.Settings` and `tools.iam` use, with
`StagePrefix` defaulting to the stage's TABLE_PREFIX, so the committed IAM policy names
the same tables. Stored data outlives the stack: tables, bucket and pool are retained on
delete and replacement.

The functions learn the names through SAM's `Globals.Function.Environment`, which SAM
merges into every function Chalice emits, whatever the app declares. With `--app-dir`,
the app is also loaded the way `chalice package` loads it, to point its Cognito
authorizers and DynamoDB stream handlers at the stack's pool and stream, which `app.py`
cannot know before the stack exists.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from chalicelib.storage.schema import DATA, PASSWORD_POLICY, Bucket, DataDefinition, Index, Table
from tools.stage_config import PROJECT_DIR, stage_environment

PREFIX_PARAM = "StagePrefix"
POOL = "UserPool"
POOL_CLIENT = "UserPoolClient"
ADMINS_GROUP = "AdminsGroup"
RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}


def _camel(key: str) -> str:
    return "".join(part.capitalize() for part in key.replace("-", "_").split("_"))


def table_logical_id(table: Table) -> str:
    return f"{_camel(table.key)}Table"


def bucket_logical_id(bucket: Bucket) -> str:
    return f"{_camel(bucket.key)}Bucket"


def _name(key: str) -> dict[str, Any]:
    return {"Fn::Sub": f"${{{PREFIX_PARAM}}}-{key}"}


def _key_schema(partition: Any, sort: Any) -> list[dict[str, str]]:
    schema = [{"AttributeName": partition.name, "KeyType": "HASH"}]
    if sort is not None:
        schema.append({"AttributeName": sort.name, "KeyType": "RANGE"})
    return schema


def _index(index: Index) -> dict[str, Any]:
    return {
        "IndexName": index.name,
        "KeySchema": _key_schema(index.partition, index.sort),
        "Projection": {"ProjectionType": "KEYS_ONLY" if index.keys_only else "ALL"},
    }


def table_resource(table: Table) -> dict[str, Any]:
    props: dict[str, Any] = {
        "TableName": _name(table.key),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": kind}
            for name, kind in sorted(table.attributes.items())
        ],
        "KeySchema": _key_schema(table.partition, table.sort),
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "Tags": [{"Key": "game-backend:table", "Value": table.key}],
    }
    if table.indexes:
        props["GlobalSecondaryIndexes"] = [_index(i) for i in table.indexes]
    if table.ttl_attribute:
        props["TimeToLiveSpecification"] = {
            "AttributeName": table.ttl_attribute,
            "Enabled": True,
        }
    if table.stream:
        props["StreamSpecification"] = {"StreamViewType": table.stream}
    return {"Type": "AWS::DynamoDB::Table", **RETAIN, "Properties": props}


def bucket_resources(bucket: Bucket) -> dict[str, dict[str, Any]]:
    logical_id = bucket_logical_id(bucket)
    props: dict[str, Any] = {
        "BucketName": _name(bucket.key),
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        },
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
            ]
        },
        "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        "LifecycleConfiguration": {
            "Rules": [
                {
                    "Id": "abort-incomplete-uploads",
                    "Status": "Enabled",
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                }
            ]
        },
    }
    if bucket.cors:
        # Game clients PUT and GET through presigned URLs; they have no fixed origin.
        props["CorsConfiguration"] = {
            "CorsRules": [
                {
                    "AllowedMethods": ["GET", "PUT", "HEAD"],
                    "AllowedOrigins": ["*"],
                    "AllowedHeaders": ["*"],
                    "ExposedHeaders": ["ETag"],
                    "MaxAge": 3000,
                }
            ]
        }
    bucket_arn = {"Fn::GetAtt": [logical_id, "Arn"]}
    deny_plain_http = {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": {"Ref": logical_id},
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyPlainHttp",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [
                            bucket_arn,
                            {"Fn::Sub": f"${{{logical_id}.Arn}}/*"},
                        ],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            },
        },
    }
    return {
        logical_id: {"Type": "AWS::S3::Bucket", **RETAIN, "Properties": props},
        f"{logical_id}Policy": deny_plain_http,
    }


def cognito_resources(admin_group: str) -> dict[str, dict[str, Any]]:
    pool = {
        "Type": "AWS::Cognito::UserPool",
        **RETAIN,
        "Properties": {
            "UserPoolName": {"Fn::Sub": f"${{{PREFIX_PARAM}}}-users"},
            "AliasAttributes": ["email"],
            "UsernameConfiguration": {"CaseSensitive": False},
            # Accounts are made by the auth service (guests are rate-limited there),
            # never by a public sign-up call.
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
            "Policies": {
                "PasswordPolicy": {**PASSWORD_POLICY, "TemporaryPasswordValidityDays": 7}
            },
            "AccountRecoverySetting": {
                "RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]
            },
            "DeletionProtection": "ACTIVE",
        },
    }
    client = {
        "Type": "AWS::Cognito::UserPoolClient",
        "Properties": {
            "ClientName": {"Fn::Sub": f"${{{PREFIX_PARAM}}}-game"},
            "UserPoolId": {"Ref": POOL},
            "GenerateSecret": False,
            "ExplicitAuthFlows": [
                "ALLOW_USER_PASSWORD_AUTH",
                "ALLOW_ADMIN_USER_PASSWORD_AUTH",
                "ALLOW_REFRESH_TOKEN_AUTH",
            ],
            "PreventUserExistenceErrors": "ENABLED",
            "EnableTokenRevocation": True,
            "AccessTokenValidity": 60,
            "IdTokenValidity": 60,
            "RefreshTokenValidity": 30,
            "TokenValidityUnits": {
                "AccessToken": "minutes",
                "IdToken": "minutes",
                "RefreshToken": "days",
            },
        },
    }
    group = {
        "Type": "AWS::Cognito::UserPoolGroup",
        "Properties": {
            "GroupName": admin_group,
            "Description": "Studio staff: may call the /admin routes.",
            "UserPoolId": {"Ref": POOL},
        },
    }
    return {POOL: pool, POOL_CLIENT: client, ADMINS_GROUP: group}


def function_environment(data: DataDefinition = DATA) -> dict[str, Any]:
    """What every function needs to find the stack's stores (merged by SAM Globals)."""
    env: dict[str, Any] = {}
    for table in data.tables:
        env[f"TABLE_{table.key.upper()}"] = {"Ref": table_logical_id(table)}
    for bucket in data.buckets:
        env[f"BUCKET_{bucket.key.upper()}"] = {"Ref": bucket_logical_id(bucket)}
    env["USER_POOL_ID"] = {"Ref": POOL}
    env["USER_POOL_ARN"] = {"Fn::GetAtt": [POOL, "Arn"]}
    env["USER_POOL_CLIENT_ID"] = {"Ref": POOL_CLIENT}
    return env


def outputs(data: DataDefinition = DATA) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for table in data.tables:
        logical_id = table_logical_id(table)
        out[f"{logical_id}Name"] = {"Value": {"Ref": logical_id}}
        out[f"{logical_id}Arn"] = {"Value": {"Fn::GetAtt": [logical_id, "Arn"]}}
        if table.stream:
            out[f"{logical_id}StreamArn"] = {
                "Value": {"Fn::GetAtt": [logical_id, "StreamArn"]}
            }
    for bucket in data.buckets:
        out[f"{bucket_logical_id(bucket)}Name"] = {
            "Value": {"Ref": bucket_logical_id(bucket)}
        }
    out["UserPoolId"] = {"Value": {"Ref": POOL}}
    out["UserPoolArn"] = {"Value": {"Fn::GetAtt": [POOL, "Arn"]}}
    out["UserPoolClientId"] = {"Value": {"Ref": POOL_CLIENT}}
    out["UserPoolIssuer"] = {
        "Value": {
            "Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"
        }
    }
    return out


def build_template(
    *,
    stage_prefix: str,
    admin_group: str = "admins",
    data: DataDefinition = DATA,
) -> dict[str, Any]:
    """The merge template for one stage, from DATA alone."""
    resources: dict[str, Any] = {}
    for table in data.tables:
        resources[table_logical_id(table)] = table_resource(table)
    for bucket in data.buckets:
        resources.update(bucket_resources(bucket))
    resources.update(cognito_resources(admin_group))
    return {
        "Parameters": {
            PREFIX_PARAM: {
                "Type": "String",
                "Default": stage_prefix,
                "AllowedPattern": "^[a-z0-9][a-z0-9-]{1,40}$",
                "Description": "Prefix of every table, bucket and pool name of the stage.",
            }
        },
        "Globals": {
            "Function": {"Environment": {"Variables": function_environment(data)}}
        },
        "Resources": resources,
        "Outputs": outputs(data),
    }


def app_overrides(app: Any, data: DataDefinition = DATA) -> dict[str, Any]:
    """Point the app's Cognito authorizers and DynamoDB stream handlers at this stack.

    `app` is the loaded `chalice.Chalice` object; the logical ids are the ones
    `chalice package` writes (see chalice.package.SAMTemplateGenerator).
    """
    from chalice.app import CognitoUserPoolAuthorizer, DynamoDBEventConfig
    from chalice.utils import to_cfn_resource_name

    resources: dict[str, Any] = {}
    security: dict[str, Any] = {}
    for methods in app.routes.values():
        for entry in methods.values():
            authorizer = entry.authorizer
            if isinstance(authorizer, CognitoUserPoolAuthorizer):
                security[authorizer.name] = {
                    "x-amazon-apigateway-authorizer": {
                        "providerARNs": [{"Fn::GetAtt": [POOL, "Arn"]}]
                    }
                }
    if security:
        resources["RestAPI"] = {
            "Properties": {"DefinitionBody": {"securityDefinitions": security}}
        }

    streamed = [t for t in data.tables if t.stream]
    for source in app.event_sources:
        if not isinstance(source, DynamoDBEventConfig):
            continue
        table = _stream_table(source.stream_arn, streamed)
        function_id = to_cfn_resource_name(source.name)
        event_id = to_cfn_resource_name(f"{source.name}-dynamodb-event-source")
        resources[function_id] = {
            "Properties": {
                "Events": {
                    event_id: {
                        "Properties": {
                            "Stream": {
                                "Fn::GetAtt": [table_logical_id(table), "StreamArn"]
                            }
                        }
                    }
                }
            }
        }
    return {"Resources": resources} if resources else {}


def _stream_table(stream_arn: str, streamed: list[Table]) -> Table:
    for table in streamed:
        if (
            f"-{table.key}/stream/" in stream_arn
            or f"/{table.key}/stream/" in stream_arn
        ):
            return table
    if len(streamed) == 1:
        return streamed[0]
    raise SystemExit(f"cannot tell which table's stream {stream_arn!r} reads")


def load_app(project_dir: Path, stage: str) -> Any:
    """The Chalice app, imported as `chalice package --stage <stage>` imports it."""
    from chalice.cli.factory import CLIFactory

    # Chalice puts the stage's variables into os.environ before importing app.py (the
    # app may choose its authorizer by stage); this command is a short-lived process.
    factory = CLIFactory(str(project_dir), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    return config.chalice_app


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def stage_template(
    stage: str, *, project_dir: Path = PROJECT_DIR, app_dir: Path | None = None
) -> dict[str, Any]:
    env = stage_environment(stage, project_dir)
    template = build_template(
        stage_prefix=env.get("TABLE_PREFIX", "game-backend"),
        admin_group=env.get("ADMIN_GROUP", "admins"),
    )
    if app_dir is not None:
        template = deep_merge(template, app_overrides(load_app(app_dir, stage)))
    return template


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.cfn", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--stage", default="prod")
    parser.add_argument(
        "--out", type=Path, help="write here instead of standard output"
    )
    parser.add_argument(
        "--app-dir",
        type=Path,
        help="load the Chalice app from this project to wire its authorizers and streams",
    )
    args = parser.parse_args(argv)
    text = json.dumps(stage_template(args.stage, app_dir=args.app_dir), indent=2) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
