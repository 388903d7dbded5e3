"""The stage's CloudFormation stack: Chalice's SAM template plus every resource of the definitions.

    python -m tools.cfn [--stage prod] [--out build/package]

runs `chalice package --stage <stage>` (functions, REST API, schedules, stream mapping)
into a scratch folder, then merges into it what `chalicelib.storage.schema` declares and
writes `<out>/sam.json` beside Chalice's `deployment.zip`:

- every table of DATA (point-in-time recovery, TTL, streams, retained on delete), the
  saves bucket (private, encrypted, versioned, HTTPS only, named per account and region),
  the user pool (no public sign-up), its app client and the admin group;
- every queue of DEPLOYMENT, the stream mapping's retry limit, bisection and on-failure
  queue, the functions' one role (its policy from tools.iam), one log group with a
  retention, tracing;
- Chalice's REST API replaced by an HTTP API on the same function and routes (payload
  format 1.0, the REST event shape the app reads), its stage throttling (stricter on
  `/auth/*`) and access logs; unknown paths go to the app, which answers them in its error
  shape. With `DEPLOYMENT.api.kind = "rest"`, Chalice's REST API is kept instead, with
  tracing and gateway responses in the app's error shape `{"error", "code", "details"}`;
- alarms (API 5xx rate, Lambda errors and throttles, DynamoDB throttles, stream iterator
  age, dead-letter depth) sent to one SNS topic, and one dashboard.

The template names no account, region or stack: every name is built from the
`StagePrefix` parameter (the stage's TABLE_PREFIX) and `${AWS::AccountId}`/`${AWS::Region}`,
so the same file deploys to any account and region, and packaging needs no region.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from chalicelib.storage.schema import (
    DATA,
    DEPLOYMENT,
    PASSWORD_POLICY,
    Bucket,
    DataDefinition,
    DeploymentDefinition,
    Index,
    Queue,
    Table,
)
from tools import iam
from tools.stage_config import PROJECT_DIR, stage_environment

PREFIX_PARAM = "StagePrefix"
ALARM_EMAIL_PARAM = "AlarmEmail"
POOL = "UserPool"
POOL_CLIENT = "UserPoolClient"
ADMINS_GROUP = "AdminsGroup"
FUNCTION_ROLE = "FunctionRole"
FUNCTION_LOGS = "FunctionLogs"
API_ACCESS_LOGS = "ApiAccessLogs"
TRACE_SAMPLING = "ApiTraceSampling"
API_LOGS_ROLE = "ApiGatewayLogsRole"
API_ACCOUNT = "ApiGatewayAccount"
ALARM_TOPIC = "AlarmTopic"
DASHBOARD = "Dashboard"
REST_API = "RestAPI"  # the logical id chalice package gives the REST API
HTTP_API = "HttpAPI"  # ... and ours for the HTTP API that replaces it
API_HANDLER_PERMISSION = "APIHandlerInvokePermission"
WEBSOCKET_API = "WebsocketAPI"  # ... and the WebSocket API, and its stage
WEBSOCKET_STAGE = "WebsocketAPIStage"
RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
# Used only while `chalice package` runs when no region is configured: nothing regional
# survives into the template (the stream ARN Chalice writes is replaced below).
# The functions' log lines: the app's own (JSON already, from Powertools, at LOG_LEVEL) and,
# with SystemLogLevel WARN, none of Lambda's START/END/REPORT lines (about 330 bytes an
# invocation, half the log bill of `make cost`): duration and memory stay in the Lambda
# metrics. Set SystemLogLevel to INFO to read them per request.
FUNCTION_LOGGING = {"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "WARN"}
PACKAGING_REGION = "us-east-1"
PERIOD = 300


def _camel(key: str) -> str:
    return "".join(part.capitalize() for part in key.replace("-", "_").split("_"))


def table_logical_id(table: Table) -> str:
    return f"{_camel(table.key)}Table"


def bucket_logical_id(bucket: Bucket) -> str:
    return f"{_camel(bucket.key)}Bucket"


def queue_logical_id(queue: Queue) -> str:
    return f"{_camel(queue.key)}Queue"


def _sub(text: str) -> dict[str, Any]:
    return {"Fn::Sub": text}


NAMES = iam.stack_names()


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
        "TableName": _sub(NAMES.table(table.key)),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": kind} for name, kind in sorted(table.attributes.items())
        ],
        "KeySchema": _key_schema(table.partition, table.sort),
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "DeletionProtectionEnabled": True,
        "Tags": [{"Key": "game-backend:table", "Value": table.key}],
    }
    if table.indexes:
        props["GlobalSecondaryIndexes"] = [_index(i) for i in table.indexes]
    if table.ttl_attribute:
        props["TimeToLiveSpecification"] = {"AttributeName": table.ttl_attribute, "Enabled": True}
    if table.stream:
        props["StreamSpecification"] = {"StreamViewType": table.stream}
    return {"Type": "AWS::DynamoDB::Table", **RETAIN, "Properties": props}


def bucket_resources(bucket: Bucket) -> dict[str, dict[str, Any]]:
    logical_id = bucket_logical_id(bucket)
    props: dict[str, Any] = {
        "BucketName": _sub(NAMES.bucket(bucket.key)),
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        },
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
        "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        # A save overwritten or deleted by mistake can be recovered for 30 days.
        "VersioningConfiguration": {"Status": "Enabled"},
        "LifecycleConfiguration": {
            "Rules": [
                {
                    "Id": "abort-incomplete-uploads",
                    "Status": "Enabled",
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                },
                {
                    "Id": "expire-old-versions",
                    "Status": "Enabled",
                    "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                    "ExpiredObjectDeleteMarker": True,
                },
            ]
        },
        "Tags": [{"Key": "game-backend:bucket", "Value": bucket.key}],
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
                            {"Fn::GetAtt": [logical_id, "Arn"]},
                            _sub(f"${{{logical_id}.Arn}}/*"),
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
            "UserPoolName": _sub(f"{NAMES.prefix}-players"),
            "AliasAttributes": ["email"],
            "UsernameConfiguration": {"CaseSensitive": False},
            # Accounts are made by the auth service (guests are rate-limited there),
            # never by a public SignUp call with the app client.
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
            "Policies": {"PasswordPolicy": {**PASSWORD_POLICY, "TemporaryPasswordValidityDays": 7}},
            "AccountRecoverySetting": {"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
            "DeletionProtection": "ACTIVE",
        },
    }
    client = {
        "Type": "AWS::Cognito::UserPoolClient",
        "Properties": {
            "ClientName": _sub(f"{NAMES.prefix}-game"),
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
            "TokenValidityUnits": {"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "days"},
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


def queue_resource(queue: Queue) -> dict[str, Any]:
    return {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": _sub(NAMES.queue(queue.key)),
            "MessageRetentionPeriod": queue.retention_days * 86400,
            # The AWS-managed key: encrypted at rest, no key to pay for or manage.
            "KmsMasterKeyId": "alias/aws/sqs",
            "Tags": [{"Key": "game-backend:queue", "Value": queue.key}],
        },
    }


def function_role(data: DataDefinition, deployment: DeploymentDefinition) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "Description": _sub(f"Functions of {NAMES.prefix}: the data actions they need, on their own resources."),
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "Policies": [{"PolicyName": "functions", "PolicyDocument": iam.stack_policy(data, deployment)}],
        },
    }


def logging_resources(deployment: DeploymentDefinition) -> dict[str, Any]:
    retention = deployment.api.log_retention_days
    api_logs_role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "apigateway.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "ManagedPolicyArns": [
                _sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs")
            ],
        },
    }
    return {
        FUNCTION_LOGS: {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": _sub(NAMES.log_group_name()), "RetentionInDays": retention},
        },
        API_ACCESS_LOGS: {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": _sub(f"/aws/apigateway/{NAMES.prefix}-access"),
                "RetentionInDays": retention,
            },
        },
        # API Gateway writes logs through one role per account and region (an account
        # setting): each stage's stack sets its own, the last deployed wins.
        API_LOGS_ROLE: api_logs_role,
        API_ACCOUNT: {
            "Type": "AWS::ApiGateway::Account",
            "Properties": {"CloudWatchRoleArn": {"Fn::GetAtt": [API_LOGS_ROLE, "Arn"]}},
        },
    }


def function_environment(data: DataDefinition = DATA, deployment: DeploymentDefinition = DEPLOYMENT) -> dict[str, Any]:
    """What every function needs to find the stack's stores (merged by SAM Globals)."""
    env: dict[str, Any] = {}
    if deployment.websocket is not None:
        # Where pushes are posted: the stack's own WebSocket API (see websocket_api()).
        env["WEBSOCKET_MANAGEMENT_URL"] = _sub(websocket_management_url(deployment.websocket.stage))
    for table in data.tables:
        env[f"TABLE_{table.key.upper()}"] = {"Ref": table_logical_id(table)}
    for bucket in data.buckets:
        env[f"BUCKET_{bucket.key.upper()}"] = {"Ref": bucket_logical_id(bucket)}
    env["USER_POOL_ID"] = {"Ref": POOL}
    env["USER_POOL_ARN"] = {"Fn::GetAtt": [POOL, "Arn"]}
    env["USER_POOL_CLIENT_ID"] = {"Ref": POOL_CLIENT}
    env["TABLE_PREFIX"] = {"Ref": PREFIX_PARAM}
    return env


def outputs(data: DataDefinition = DATA, deployment: DeploymentDefinition = DEPLOYMENT) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for table in data.tables:
        logical_id = table_logical_id(table)
        out[f"{logical_id}Name"] = {"Value": {"Ref": logical_id}}
        if table.stream:
            out[f"{logical_id}StreamArn"] = {"Value": {"Fn::GetAtt": [logical_id, "StreamArn"]}}
    for bucket in data.buckets:
        out[f"{bucket_logical_id(bucket)}Name"] = {"Value": {"Ref": bucket_logical_id(bucket)}}
    for queue in deployment.queues:
        out[f"{queue_logical_id(queue)}Url"] = {"Value": {"Ref": queue_logical_id(queue)}}
    out["UserPoolId"] = {"Value": {"Ref": POOL}}
    out["UserPoolArn"] = {"Value": {"Fn::GetAtt": [POOL, "Arn"]}}
    out["UserPoolClientId"] = {"Value": {"Ref": POOL_CLIENT}}
    out["UserPoolIssuer"] = {"Value": _sub("https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}")}
    out["AlarmTopicArn"] = {"Value": {"Ref": ALARM_TOPIC}}
    out["DashboardName"] = {"Value": {"Ref": DASHBOARD}}
    return out


def parameters(stage_prefix: str) -> dict[str, Any]:
    return {
        PREFIX_PARAM: {
            "Type": "String",
            "Default": stage_prefix,
            # Bucket names (<prefix>-saves-<account>-<region>) must stay within 63 characters.
            "AllowedPattern": "^[a-z0-9][a-z0-9-]{1,23}$",
            "Description": "Prefix of every table, bucket, queue, pool and log group name of the stage.",
        },
        ALARM_EMAIL_PARAM: {
            "Type": "String",
            "Default": "",
            "Description": "Where alarms are mailed (confirm the subscription mail); empty: none.",
        },
    }


def alarm_topic() -> dict[str, Any]:
    return {
        ALARM_TOPIC: {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": _sub(f"{NAMES.prefix}-alarms")},
        },
        "AlarmEmailSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "HasAlarmEmail",
            "Properties": {
                "TopicArn": {"Ref": ALARM_TOPIC},
                "Protocol": "email",
                "Endpoint": {"Ref": ALARM_EMAIL_PARAM},
            },
        },
    }


def _alarm(description: str, threshold: float, evaluation_periods: int, **metric: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "AlarmDescription": description,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "Threshold": threshold,
        "EvaluationPeriods": evaluation_periods,
        "TreatMissingData": "notBreaching",
        "AlarmActions": [{"Ref": ALARM_TOPIC}],
        "OKActions": [{"Ref": ALARM_TOPIC}],
        **metric,
    }
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": props}


def _stat(
    metric_id: str, namespace: str, name: str, dimensions: list[dict[str, Any]], stat: str = "Sum"
) -> dict[str, Any]:
    return {
        "Id": metric_id,
        "ReturnData": False,
        "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dimensions},
            "Period": PERIOD,
            "Stat": stat,
        },
    }


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def data_alarms(data: DataDefinition, deployment: DeploymentDefinition) -> dict[str, Any]:
    """Alarms on what the definitions declare: table throttles, dead-letter depth."""
    periods = deployment.alarms.evaluation_periods
    alarms: dict[str, Any] = {}
    for table in data.tables:
        logical_id = table_logical_id(table)
        dims = [{"Name": "TableName", "Value": {"Ref": logical_id}}]
        alarms[f"{logical_id}ThrottleAlarm"] = _alarm(
            f"DynamoDB throttled requests on the {table.key} table",
            deployment.alarms.dynamodb_throttles,
            periods,
            Metrics=[
                _stat("reads", "AWS/DynamoDB", "ReadThrottleEvents", dims),
                _stat("writes", "AWS/DynamoDB", "WriteThrottleEvents", dims),
                {"Id": "throttles", "Expression": "reads + writes", "Label": "throttle events", "ReturnData": True},
            ],
        )
    for queue in deployment.queues:
        logical_id = queue_logical_id(queue)
        alarms[f"{logical_id}DepthAlarm"] = _alarm(
            f"Messages waiting in {queue.key}: {queue.description}",
            queue.alarm_depth,
            1,
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": {"Fn::GetAtt": [logical_id, "QueueName"]}}],
            Statistic="Maximum",
            Period=PERIOD,
        )
    return alarms


def api_dimensions(deployment: DeploymentDefinition) -> list[dict[str, Any]]:
    """The API's metric dimensions: a REST API's by name, an HTTP API's by id and stage."""
    if deployment.api.kind == "rest":
        return [{"Name": "ApiName", "Value": _sub(f"{NAMES.prefix}-api")}]
    return [{"Name": "ApiId", "Value": {"Ref": HTTP_API}}, {"Name": "Stage", "Value": HTTP_STAGE}]


def api_metric(name: str, deployment: DeploymentDefinition) -> str:
    """An API metric's name: an HTTP API reports `4xx`/`5xx` where a REST API reports `4XXError`."""
    if deployment.api.kind == "rest" or not name.endswith("XXError"):
        return name
    return name[0] + "xx"


def function_alarms(
    functions: list[str], stream_functions: dict[str, str], deployment: DeploymentDefinition
) -> dict[str, Any]:
    """Lambda errors and throttles summed over the functions; iterator age per stream consumer."""
    periods = deployment.alarms.evaluation_periods
    alarms: dict[str, Any] = {}
    for metric, threshold in (
        ("Errors", deployment.alarms.lambda_errors),
        ("Throttles", deployment.alarms.lambda_throttles),
    ):
        # A metric-math alarm takes at most 10 metrics: one expression plus up to 9 functions.
        for n, group in enumerate(_chunks(functions, 9)):
            stats = [
                _stat(f"f{i}", "AWS/Lambda", metric, [{"Name": "FunctionName", "Value": {"Ref": fn}}])
                for i, fn in enumerate(group)
            ]
            suffix = "" if n == 0 else str(n + 1)
            alarms[f"Lambda{metric}Alarm{suffix}"] = _alarm(
                f"Lambda {metric.lower()} of the stage's functions ({', '.join(group)})",
                threshold,
                periods,
                Metrics=[*stats, {"Id": "total", "Expression": "SUM(METRICS())", "Label": metric, "ReturnData": True}],
            )
    consumers = {c.table: c for c in deployment.stream_consumers}
    for function, table_key in sorted(stream_functions.items()):
        consumer = consumers[table_key]
        alarms[f"{function}IteratorAgeAlarm"] = _alarm(
            f"The {table_key} stream is read late by {function} (records waiting)",
            consumer.iterator_age_alarm_seconds * 1000,
            periods,
            Namespace="AWS/Lambda",
            MetricName="IteratorAge",
            Dimensions=[{"Name": "FunctionName", "Value": {"Ref": function}}],
            Statistic="Maximum",
            Period=PERIOD,
        )
    api_dims = api_dimensions(deployment)
    alarms["Api5xxAlarm"] = _alarm(
        "Share of API requests answered 5xx",
        deployment.alarms.api_5xx_rate,
        periods,
        Metrics=[
            _stat("errors", "AWS/ApiGateway", api_metric("5XXError", deployment), api_dims),
            _stat("requests", "AWS/ApiGateway", "Count", api_dims),
            {
                "Id": "rate",
                "Expression": "IF(requests > 0, errors / requests, 0)",
                "Label": "5xx rate",
                "ReturnData": True,
            },
        ],
    )
    return alarms


def dashboard(functions: list[str], data: DataDefinition, deployment: DeploymentDefinition) -> dict[str, Any]:
    """One dashboard: API, functions, tables, stream and queues. The body is a Fn::Sub string.

    Dashboards are global to an account: the name carries the region.
    """
    if deployment.api.kind == "rest":
        api = ["ApiName", f"{NAMES.prefix}-api"]
    else:
        api = ["ApiId", f"${{{HTTP_API}}}", "Stage", HTTP_STAGE]

    def widget(title: str, metrics: list[list[Any]], stat: str = "Sum") -> dict[str, Any]:
        return {
            "type": "metric",
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": "${AWS::Region}",
                "stat": stat,
                "period": PERIOD,
                "metrics": metrics,
            },
        }

    widgets = [
        widget(
            "API requests and errors",
            [
                ["AWS/ApiGateway", "Count", *api],
                ["AWS/ApiGateway", api_metric("4XXError", deployment), *api],
                ["AWS/ApiGateway", api_metric("5XXError", deployment), *api],
            ],
        ),
        widget("API latency (p99)", [["AWS/ApiGateway", "Latency", *api]], stat="p99"),
        widget("Lambda errors", [["AWS/Lambda", "Errors", "FunctionName", f"${{{fn}}}"] for fn in functions]),
        widget("Lambda throttles", [["AWS/Lambda", "Throttles", "FunctionName", f"${{{fn}}}"] for fn in functions]),
        widget(
            "Lambda duration (p99)",
            [["AWS/Lambda", "Duration", "FunctionName", f"${{{fn}}}"] for fn in functions],
            stat="p99",
        ),
        widget(
            "DynamoDB consumed capacity",
            [
                ["AWS/DynamoDB", name, "TableName", f"${{{table_logical_id(t)}}}"]
                for t in data.tables
                for name in ("ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits")
            ],
        ),
        widget(
            "DynamoDB throttles",
            [
                ["AWS/DynamoDB", name, "TableName", f"${{{table_logical_id(t)}}}"]
                for t in data.tables
                for name in ("ReadThrottleEvents", "WriteThrottleEvents")
            ],
        ),
        widget(
            "Dead-letter queues",
            [
                ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", NAMES.queue(q.key)]
                for q in deployment.queues
            ],
            stat="Maximum",
        ),
    ]
    body = json.dumps({"widgets": widgets}, separators=(",", ":"))
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {"DashboardName": _sub(f"{NAMES.prefix}-backend-${{AWS::Region}}"), "DashboardBody": _sub(body)},
    }


# -- the REST API ---------------------------------------------------------------------

# API Gateway's own answers, in the app's error shape. A REST API answers an unknown path
# and a known path with the wrong method alike (MISSING_AUTHENTICATION_TOKEN): both 404.
GATEWAY_RESPONSES: dict[str, tuple[int | None, str, str]] = {
    "MISSING_AUTHENTICATION_TOKEN": (404, "not_found", '"no route for this method and path"'),
    "UNSUPPORTED_MEDIA_TYPE": (415, "unsupported_media_type", '"the request body must be application/json"'),
    "UNAUTHORIZED": (401, "unauthorized", "$context.error.messageString"),
    "ACCESS_DENIED": (403, "forbidden", "$context.error.messageString"),
    "THROTTLED": (429, "rate_limited", '"too many requests, retry shortly"'),
    "QUOTA_EXCEEDED": (429, "rate_limited", '"too many requests, retry shortly"'),
    "REQUEST_TOO_LARGE": (413, "too_large", "$context.error.messageString"),
    "DEFAULT_4XX": (None, "invalid", "$context.error.messageString"),
    "DEFAULT_5XX": (None, "unavailable", "$context.error.messageString"),
}


def gateway_responses() -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for kind, (status, code, message) in GATEWAY_RESPONSES.items():
        body = f'{{"error": {message}, "code": "{code}", "details": {{"request_id": "$context.requestId"}}}}'
        headers = {"gatewayresponse.header.Content-Type": "'application/json'"}
        if code == "rate_limited":
            headers["gatewayresponse.header.Retry-After"] = "'1'"
        response: dict[str, Any] = {
            "responseParameters": headers,
            "responseTemplates": {"application/json": body},
        }
        if status is not None:
            response["statusCode"] = str(status)
        responses[kind] = response
    return responses


def _access_log_format(route: tuple[str, str]) -> str:
    """One JSON line per request; `route` names the matched route's field and variable."""
    return json.dumps(
        {
            "requestId": "$context.requestId",
            "ip": "$context.identity.sourceIp",
            "requestTime": "$context.requestTime",
            "method": "$context.httpMethod",
            route[0]: route[1],
            "status": "$context.status",
            "responseLength": "$context.responseLength",
            "latency": "$context.responseLatency",
            "integrationLatency": "$context.integrationLatency",
            "error": "$context.error.message",
        },
        separators=(",", ":"),
    )


ACCESS_LOG_FORMAT = _access_log_format(("path", "$context.resourcePath"))


def trace_sampling_rule(deployment: DeploymentDefinition, stage_name: str) -> dict[str, Any]:
    """The share of the REST API stage's requests X-Ray records (no reservoir: a quiet
    stage is not traced whole)."""
    return {
        "Type": "AWS::XRay::SamplingRule",
        "Properties": {
            "SamplingRule": {
                "RuleName": _sub(f"{NAMES.prefix}-api"),
                "Priority": 100,
                "FixedRate": deployment.api.trace_sample_rate,
                "ReservoirSize": 0,
                "ServiceName": _sub(f"{NAMES.prefix}-api/{stage_name}"),
                "ServiceType": "AWS::ApiGateway::Stage",
                "Host": "*",
                "HTTPMethod": "*",
                "URLPath": "*",
                "ResourceARN": "*",
                "Version": 1,
            }
        },
    }


def _method_path(path: str) -> str:
    """A resource path as MethodSettings writes it: each '/' as '~1'."""
    return "/" + path.replace("/", "~1")


def strict_routes(paths: dict[str, Any], deployment: DeploymentDefinition) -> list[tuple[str, str]]:
    """(path, method) of the routes under the stricter limits (`strict_prefixes`), sorted;
    Chalice's CORS stubs (OPTIONS) and OpenAPI extensions are not routes."""
    return [
        (path, method)
        for path in sorted(paths)
        if path.startswith(deployment.api.strict_prefixes)
        for method in sorted(paths[path])
        if not method.startswith("x-") and method != "options"
    ]


def method_settings(paths: dict[str, Any], deployment: DeploymentDefinition) -> list[dict[str, Any]]:
    api = deployment.api
    settings: list[dict[str, Any]] = [
        {
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "ThrottlingRateLimit": api.rate_limit,
            "ThrottlingBurstLimit": api.burst_limit,
            # Per-method metrics are billed as custom metrics (7 per route): the API-wide
            # ones (free) feed the alarms and the dashboard.
            "MetricsEnabled": False,
        }
    ]
    for path, method in strict_routes(paths, deployment):
        settings.append(
            {
                "ResourcePath": _method_path(path),
                "HttpMethod": method.upper(),
                "ThrottlingRateLimit": api.strict_rate_limit,
                "ThrottlingBurstLimit": api.strict_burst_limit,
                "MetricsEnabled": False,
            }
        )
    return settings


# -- the HTTP API ---------------------------------------------------------------------

HTTP_STAGE = "api"  # the stage Chalice names: https://<api>.execute-api.<region>.amazonaws.com/api/
HTTP_ACCESS_LOG_FORMAT = _access_log_format(("route", "$context.routeKey"))


def _proxy(uri: Any) -> dict[str, Any]:
    # Payload format 1.0 is the REST API's proxy event: requestContext.resourcePath and
    # httpMethod route the request inside Chalice exactly as behind a REST API.
    return {"type": "aws_proxy", "httpMethod": "POST", "uri": uri, "payloadFormatVersion": "1.0"}


def http_api_definition(rest_body: dict[str, Any]) -> dict[str, Any]:
    """The HTTP API's OpenAPI document: Chalice's routes, each to the same function, plus
    the default route (any other method or path) to it too, so the app answers those in
    its own error shape rather than the gateway in `{"message": "Not Found"}`."""
    paths: dict[str, Any] = {}
    uri: Any = None
    for path, methods in sorted(rest_body.get("paths", {}).items()):
        operations: dict[str, Any] = {}
        for method, operation in sorted(methods.items()):
            if method.startswith("x-") or method == "options":
                continue
            uri = operation["x-amazon-apigateway-integration"]["uri"]
            operations[method] = {
                "responses": {"default": {"description": "the app's answer"}},
                "x-amazon-apigateway-integration": _proxy(uri),
            }
            if "summary" in operation:
                operations[method]["summary"] = operation["summary"]
        if operations:
            paths[path] = operations
    if uri is None:
        raise SystemExit("the REST API Chalice declares has no route")
    # API Gateway names the default route `/$default` in an OpenAPI document.
    paths["/$default"] = {
        "x-amazon-apigateway-any-method": {
            "isDefaultRoute": True,
            "responses": {"default": {"description": "the app's not_found answer"}},
            "x-amazon-apigateway-integration": _proxy(uri),
        }
    }
    return {
        "openapi": "3.0.1",
        # SAM's placeholder title, which it replaces by the resource's Name.
        "info": {"title": {"Ref": "AWS::StackName"}, "version": "1.0"},
        "paths": paths,
    }


def http_route_settings(paths: dict[str, Any], deployment: DeploymentDefinition) -> dict[str, Any]:
    """The stricter throttling of the unauthenticated routes, by route key."""
    api = deployment.api
    return {
        f"{method.upper()} {path}": {
            "ThrottlingRateLimit": api.strict_rate_limit,
            "ThrottlingBurstLimit": api.strict_burst_limit,
        }
        for path, method in strict_routes(paths, deployment)
    }


def http_api(template: dict[str, Any], deployment: DeploymentDefinition) -> None:
    """Replace Chalice's REST API by an HTTP API on the same function and routes."""
    resources = template["Resources"]
    rest = resources.pop(REST_API)["Properties"]
    stage = str(rest.get("StageName", HTTP_STAGE))
    if stage != HTTP_STAGE:
        raise SystemExit(f"the REST API's stage is {stage!r}, the HTTP API's is {HTTP_STAGE!r}")
    definition = http_api_definition(rest["DefinitionBody"])
    api = deployment.api
    resources[HTTP_API] = {
        "Type": "AWS::Serverless::HttpApi",
        "Properties": {
            "Name": _sub(f"{NAMES.prefix}-api"),
            "StageName": HTTP_STAGE,
            "DefinitionBody": definition,
            "FailOnWarnings": True,
            "DefaultRouteSettings": {
                "ThrottlingRateLimit": api.rate_limit,
                "ThrottlingBurstLimit": api.burst_limit,
                # Per-route metrics are billed as custom metrics: the API-wide ones (free)
                # feed the alarms and the dashboard.
                "DetailedMetricsEnabled": False,
            },
            "RouteSettings": http_route_settings(definition["paths"], deployment),
            "AccessLogSettings": {
                "DestinationArn": {"Fn::GetAtt": [API_ACCESS_LOGS, "Arn"]},
                "Format": HTTP_ACCESS_LOG_FORMAT,
            },
        },
    }
    permission = resources.get(API_HANDLER_PERMISSION)
    if permission is None:
        raise SystemExit(f"Chalice's template has no {API_HANDLER_PERMISSION}")
    permission["Properties"]["SourceArn"] = _sub(
        f"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{HTTP_API}}}/*"
    )
    outputs = template.setdefault("Outputs", {})
    outputs.pop("RestAPIId", None)
    outputs["HttpAPIId"] = {"Value": {"Ref": HTTP_API}}
    outputs["EndpointURL"] = {
        "Value": _sub(f"https://${{{HTTP_API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{HTTP_STAGE}/")
    }


# -- the WebSocket API ----------------------------------------------------------------


def websocket_management_url(stage: str) -> str:
    return f"https://${{{WEBSOCKET_API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{stage}"


def websocket_api(resources: dict[str, Any], deployment: DeploymentDefinition) -> None:
    """Complete Chalice's WebSocket API: its name and its stage's throttling."""
    ws = deployment.websocket
    assert ws is not None
    if WEBSOCKET_STAGE not in resources:
        raise SystemExit(f"the WebSocket API has no {WEBSOCKET_STAGE}")
    stage = resources[WEBSOCKET_STAGE]["Properties"]
    if stage.get("StageName") != ws.stage:
        raise SystemExit(f"the WebSocket stage is {stage.get('StageName')!r}, DEPLOYMENT says {ws.stage!r}")
    stage["DefaultRouteSettings"] = {
        "ThrottlingRateLimit": ws.rate_limit,
        "ThrottlingBurstLimit": ws.burst_limit,
        "DetailedMetricsEnabled": True,
    }
    resources[WEBSOCKET_API]["Properties"]["Name"] = _sub(f"{NAMES.prefix}-realtime")


# -- assembling -----------------------------------------------------------------------


def build_template(
    *,
    stage_prefix: str,
    admin_group: str = "admins",
    data: DataDefinition = DATA,
    deployment: DeploymentDefinition = DEPLOYMENT,
) -> dict[str, Any]:
    """Everything the definitions declare, independent of the app's functions."""
    resources: dict[str, Any] = {}
    for table in data.tables:
        resources[table_logical_id(table)] = table_resource(table)
    for bucket in data.buckets:
        resources.update(bucket_resources(bucket))
    resources.update(cognito_resources(admin_group))
    for queue in deployment.queues:
        resources[queue_logical_id(queue)] = queue_resource(queue)
    resources[FUNCTION_ROLE] = function_role(data, deployment)
    resources.update(logging_resources(deployment))
    resources.update(alarm_topic())
    resources.update(data_alarms(data, deployment))
    return {
        "Parameters": parameters(stage_prefix),
        "Conditions": {
            "HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": ALARM_EMAIL_PARAM}, ""]}]},
        },
        "Globals": {"Function": {"Environment": {"Variables": function_environment(data, deployment)}}},
        "Resources": resources,
        "Outputs": outputs(data, deployment),
    }


def _stream_table(stream: Any, data: DataDefinition) -> Table:
    streamed = [t for t in data.tables if t.stream]
    text = json.dumps(stream)
    for table in streamed:
        if f"-{table.key}/stream/" in text or f"/{table.key}/stream/" in text:
            return table
    if len(streamed) == 1:
        return streamed[0]
    raise SystemExit(f"cannot tell which table's stream {text} reads")


def merge_chalice(
    chalice: dict[str, Any],
    *,
    stage_prefix: str,
    admin_group: str = "admins",
    data: DataDefinition = DATA,
    deployment: DeploymentDefinition = DEPLOYMENT,
) -> dict[str, Any]:
    """Chalice's SAM template completed with the definitions: the stack's template."""
    template = json.loads(json.dumps(chalice))
    if deployment.websocket is not None and WEBSOCKET_API not in template["Resources"]:
        # An app without on_ws_* handlers has no WebSocket API: nothing to push to or grant on.
        deployment = dataclasses.replace(deployment, websocket=None)
    ours = build_template(stage_prefix=stage_prefix, admin_group=admin_group, data=data, deployment=deployment)
    resources: dict[str, Any] = template["Resources"]
    consumers = {c.table: c for c in deployment.stream_consumers}
    queues = {q.key: q for q in deployment.queues}

    functions = sorted(k for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function")
    stream_functions: dict[str, str] = {}
    for logical_id in functions:
        props = resources[logical_id]["Properties"]
        # One role for every function (Chalice's per-function roles are dropped below).
        role = props.get("Role")
        if isinstance(role, dict) and "Fn::GetAtt" in role and role["Fn::GetAtt"][0] != FUNCTION_ROLE:
            resources.pop(role["Fn::GetAtt"][0], None)
        props["Role"] = {"Fn::GetAtt": [FUNCTION_ROLE, "Arn"]}
        # PassThrough: a function traces a request only when the API sampled it (the
        # stage's sampling rule), never on its own (WebSocket, stream and scheduled calls).
        props["Tracing"] = "PassThrough"
        props["LoggingConfig"] = {"LogGroup": {"Ref": FUNCTION_LOGS}, **FUNCTION_LOGGING}
        for event in props.get("Events", {}).values():
            if event.get("Type") != "DynamoDB":
                continue
            table = _stream_table(event["Properties"].get("Stream"), data)
            event_props = event["Properties"]
            event_props["Stream"] = {"Fn::GetAtt": [table_logical_id(table), "StreamArn"]}
            consumer = consumers.get(table.key)
            if consumer is None:
                raise SystemExit(f"the {table.key} stream has a handler but no StreamConsumer in DEPLOYMENT")
            event_props["MaximumRetryAttempts"] = consumer.max_retries
            event_props["BisectBatchOnFunctionError"] = consumer.bisect_on_error
            event_props["MaximumRecordAgeInSeconds"] = consumer.max_record_age_seconds
            failure = queue_logical_id(queues[consumer.on_failure_queue])
            event_props["DestinationConfig"] = {
                "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": [failure, "Arn"]}}
            }
            stream_functions[logical_id] = table.key

    if REST_API in resources and deployment.api.kind == "http":
        http_api(template, deployment)
    elif REST_API in resources:
        api = resources[REST_API]["Properties"]
        body = api["DefinitionBody"]
        body["x-amazon-apigateway-gateway-responses"] = gateway_responses()
        # No Cognito authorizer at the gateway: it accepts ID tokens only (or, with scopes,
        # access tokens only), where the app accepts both. The app verifies every token
        # itself, the same code in every stage (see the README's "Deploying").
        api["Name"] = _sub(f"{NAMES.prefix}-api")
        api["TracingEnabled"] = deployment.api.tracing
        if deployment.api.tracing:
            resources[TRACE_SAMPLING] = trace_sampling_rule(deployment, str(api.get("StageName", "api")))
        api["MethodSettings"] = method_settings(body.get("paths", {}), deployment)
        api["AccessLogSetting"] = {
            "DestinationArn": {"Fn::GetAtt": [API_ACCESS_LOGS, "Arn"]},
            "Format": ACCESS_LOG_FORMAT,
        }
        # The stage turns on access logs: the account's CloudWatch role must be set first.
        resources[REST_API]["DependsOn"] = [API_ACCOUNT]
    if deployment.websocket is not None:
        websocket_api(resources, deployment)
        template.setdefault("Outputs", {})["WebsocketManagementURL"] = {
            "Value": _sub(websocket_management_url(deployment.websocket.stage))
        }
    resources[DASHBOARD] = dashboard(functions, data, deployment)
    resources.update(function_alarms(functions, stream_functions, deployment))

    for key, value in ours["Resources"].items():
        if key in resources:
            raise SystemExit(f"logical id {key} is both Chalice's and the definition's")
        resources[key] = value
    for section in ("Parameters", "Conditions", "Globals"):
        template.setdefault(section, {}).update(ours[section])
    template.setdefault("Outputs", {}).update(ours["Outputs"])
    template["Outputs"]["ApiUrl"] = template["Outputs"].get("EndpointURL", {"Value": ""})
    template["Description"] = (
        f"Game backend stage ({stage_prefix}): functions, API and every resource of the definition."
    )
    return template


def stage_settings(stage: str, project_dir: Path = PROJECT_DIR) -> tuple[str, str]:
    env = stage_environment(stage, project_dir)
    return env.get("TABLE_PREFIX") or f"game-{stage}", env.get("ADMIN_GROUP", "admins")


def chalice_package(stage: str, out: Path, *, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """Run `chalice package` into `out`; return its SAM template."""
    chalice = Path(sys.executable).with_name("chalice")
    env = dict(os.environ)
    if not (env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or _profile_region()):
        env["AWS_DEFAULT_REGION"] = PACKAGING_REGION
    subprocess.run(
        [str(chalice if chalice.exists() else "chalice"), "package", "--stage", stage, str(out)],
        cwd=project_dir,
        env=env,
        check=True,
    )
    return json.loads((out / "sam.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _profile_region() -> str | None:
    try:
        import botocore.session

        return botocore.session.Session().get_config_variable("region")  # type: ignore[no-any-return]
    except Exception:  # noqa: BLE001 - an unreadable profile: fall back to the neutral region
        return None


def package(stage: str, out: Path, *, project_dir: Path = PROJECT_DIR) -> Path:
    """`chalice package` plus the definitions: `<out>/sam.json` and `<out>/deployment.zip`."""
    prefix, admin_group = stage_settings(stage, project_dir)
    with tempfile.TemporaryDirectory(prefix="chalice-package-") as scratch:
        chalice = chalice_package(stage, Path(scratch) / "sam", project_dir=project_dir)
        template = merge_chalice(chalice, stage_prefix=prefix, admin_group=admin_group)
        out.mkdir(parents=True, exist_ok=True)
        for extra in Path(scratch, "sam").iterdir():
            if extra.name != "sam.json":
                shutil.copyfile(extra, out / extra.name)
    path = out / "sam.json"
    path.write_text(json.dumps(template, indent=2) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["translate"]:
        # python -m tools.cfn translate SAM_JSON OUT_JSON (in the checks' environment)
        source, target = Path(argv[1]), Path(argv[2])
        translated = translate(json.loads(source.read_text(encoding="utf-8")))
        target.write_text(json.dumps(translated, indent=2) + "\n", encoding="utf-8")
        return 0
    parser = argparse.ArgumentParser(prog="python -m tools.cfn", description=__doc__.split("\n")[0])
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--out", type=Path, default=Path("build/package"))
    args = parser.parse_args(argv)
    path = package(args.stage, args.out)
    print(f"wrote {path} and {args.out / 'deployment.zip'}", file=sys.stderr)
    return 0


def with_code_location(template: dict[str, Any], bucket: str, key: str) -> dict[str, Any]:
    """The template with every function's code at s3://bucket/key (what `cloudformation package` does)."""
    result = json.loads(json.dumps(template))
    for resource in result["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://{bucket}/{key}"
    return result


def translate(template: dict[str, Any], region: str = PACKAGING_REGION) -> dict[str, Any]:
    """The plain CloudFormation that the SAM transform makes of the template, offline.

    Needs aws-sam-translator, which lives in the checks' environment (.venv-checkov: it pins
    a pydantic the app's own pin excludes); run it there as `python -m tools.cfn translate`.
    SAM needs a region only to fill in pseudo parameters: no AWS call is made (the template
    uses no SAM policy templates or managed policy names).
    """
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    template = with_code_location(template, "artifacts", "deployment.zip")
    translator = Translator({}, Parser(), boto_session=boto3.session.Session(region_name=region))
    return translator.translate(template, parameter_values={})  # type: ignore[no-any-return]


if __name__ == "__main__":
    raise SystemExit(main())
