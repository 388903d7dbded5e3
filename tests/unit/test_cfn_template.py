"""The stack template follows the definitions (DATA, DEPLOYMENT), whatever Chalice emits."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from chalicelib.config import Settings
from chalicelib.storage.schema import DATA, DEPLOYMENT, Queue, StreamConsumer
from tools import cfn, iam
from tools.stage_config import chalice_config, stage_environment

# The app reads no stream today; a definition with a stream handler shows how one is wired.
WITH_STREAM = dataclasses.replace(
    DEPLOYMENT,
    queues=(Queue(key="events-failed", description="batches the handler could not process"),),
    stream_consumers=(StreamConsumer(table="events", on_failure_queue="events-failed"),),
)
PLACEHOLDER_STREAM = "arn:aws:dynamodb:us-east-1:000000000000:table/game-prod-events/stream/unset"


def _function(handler: str, role: Any, events: dict[str, Any] | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {"Runtime": "python3.11", "Handler": handler, "CodeUri": "./deployment.zip", "Role": role}
    if events:
        props["Events"] = events
    return {"Type": "AWS::Serverless::Function", "Properties": props}


def chalice_like() -> dict[str, Any]:
    """The shape of `chalice package`'s SAM template (managed roles, one stream handler)."""
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "ApiHandlerRole": {"Type": "AWS::IAM::Role", "Properties": {"Policies": []}},
            "APIHandler": _function("app.app", {"Fn::GetAtt": ["ApiHandlerRole", "Arn"]}),
            "CountEvents": _function(
                "app.count_events",
                "arn:aws:iam::000000000000:role/placeholder",
                {
                    "CountEventsDynamodbEventSource": {
                        "Type": "DynamoDB",
                        "Properties": {
                            "Stream": PLACEHOLDER_STREAM,
                            "BatchSize": 100,
                            "StartingPosition": "TRIM_HORIZON",
                        },
                    }
                },
            ),
            "MatchmakingCleanup": _function(
                "app.matchmaking_cleanup",
                "arn:aws:iam::000000000000:role/placeholder",
                {"Rule": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 minute)"}}},
            ),
            "RestAPI": {
                "Type": "AWS::Serverless::Api",
                "Properties": {
                    "StageName": "api",
                    "DefinitionBody": {
                        "swagger": "2.0",
                        "paths": {
                            "/auth/guest": {"post": {}, "options": {}},
                            "/auth/login": {"post": {}},
                            "/players/me": {"get": {}, "patch": {}},
                        },
                    },
                },
            },
            # The WebSocket API (the app's on_ws_* handlers), as chalice package emits it.
            "WebsocketAPI": {
                "Type": "AWS::ApiGatewayV2::Api",
                "Properties": {
                    "Name": "game-backend-websocket-api",
                    "ProtocolType": "WEBSOCKET",
                    "RouteSelectionExpression": "$request.body.action",
                },
            },
            "WebsocketAPIStage": {
                "Type": "AWS::ApiGatewayV2::Stage",
                "Properties": {"ApiId": {"Ref": "WebsocketAPI"}, "StageName": "api"},
            },
        },
        "Outputs": {
            "EndpointURL": {
                "Value": {"Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api/"}
            }
        },
    }


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cfn.merge_chalice(chalice_like(), stage_prefix="game-test", deployment=WITH_STREAM)


def test_every_table_is_declared_as_in_data(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    tables = {k for k, v in resources.items() if v["Type"] == "AWS::DynamoDB::Table"}
    assert tables == {cfn.table_logical_id(t) for t in DATA.tables}
    for table in DATA.tables:
        resource = resources[cfn.table_logical_id(table)]
        props = resource["Properties"]
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
        assert props["TableName"] == {"Fn::Sub": "${StagePrefix}-" + table.key}
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["DeletionProtectionEnabled"] is True
        assert {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]} == table.attributes
        assert {i["IndexName"] for i in props.get("GlobalSecondaryIndexes", [])} == {i.name for i in table.indexes}
        assert ("TimeToLiveSpecification" in props) == bool(table.ttl_attribute)
        assert props.get("StreamSpecification") == ({"StreamViewType": table.stream} if table.stream else None)
        assert f"{cfn.table_logical_id(table)}ThrottleAlarm" in resources


def test_bucket_is_private_versioned_https_only_and_named_per_account_and_region(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    for bucket in DATA.buckets:
        logical_id = cfn.bucket_logical_id(bucket)
        props = resources[logical_id]["Properties"]
        assert props["BucketName"] == {"Fn::Sub": "${StagePrefix}-" + bucket.key + "-${AWS::AccountId}-${AWS::Region}"}
        assert all(props["PublicAccessBlockConfiguration"].values())
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
        assert rules["abort-incomplete-uploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
        assert "NoncurrentVersionExpiration" in rules["expire-old-versions"]
        statement = resources[f"{logical_id}Policy"]["Properties"]["PolicyDocument"]["Statement"][0]
        assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_pool_refuses_public_sign_up(template: dict[str, Any]) -> None:
    pool = template["Resources"]["UserPool"]["Properties"]
    assert pool["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}
    client = template["Resources"]["UserPoolClient"]["Properties"]
    assert client["GenerateSecret"] is False
    assert template["Resources"]["AdminsGroup"]["Properties"]["GroupName"] == "admins"


def test_every_function_uses_the_one_role_with_the_generated_policy(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    assert "ApiHandlerRole" not in resources  # Chalice's own role is replaced, not kept
    functions = [v for v in resources.values() if v["Type"] == "AWS::Serverless::Function"]
    assert len(functions) == 3
    for function in functions:
        props = function["Properties"]
        assert props["Role"] == {"Fn::GetAtt": [cfn.FUNCTION_ROLE, "Arn"]}
        # A function traces only what the API sampled (never WebSocket or scheduled calls alone).
        assert props["Tracing"] == "PassThrough"
        assert props["LoggingConfig"]["LogGroup"] == {"Ref": cfn.FUNCTION_LOGS}
    role = resources[cfn.FUNCTION_ROLE]["Properties"]
    assert [p["PolicyDocument"] for p in role["Policies"]] == [iam.stack_policy(deployment=WITH_STREAM)]
    assert resources[cfn.FUNCTION_LOGS]["Properties"]["RetentionInDays"] == DEPLOYMENT.api.log_retention_days
    assert template["Globals"]["Function"]["Environment"]["Variables"] == cfn.function_environment()


def test_stream_mapping_retries_bisects_and_keeps_what_fails(template: dict[str, Any]) -> None:
    events = template["Resources"]["CountEvents"]["Properties"]["Events"]
    props = events["CountEventsDynamodbEventSource"]["Properties"]
    consumer = WITH_STREAM.stream_consumers[0]
    assert props["Stream"] == {"Fn::GetAtt": ["EventsTable", "StreamArn"]}
    assert props["MaximumRetryAttempts"] == consumer.max_retries
    assert props["BisectBatchOnFunctionError"] is True
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["EventsFailedQueue", "Arn"]}
    resources = template["Resources"]
    assert resources["EventsFailedQueue"]["Properties"]["KmsMasterKeyId"] == "alias/aws/sqs"
    assert "EventsFailedQueueDepthAlarm" in resources
    assert "CountEventsIteratorAgeAlarm" in resources


def test_api_throttling_stricter_on_auth_routes(template: dict[str, Any]) -> None:
    api = template["Resources"]["RestAPI"]["Properties"]
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in api["MethodSettings"]}
    assert settings[("/*", "*")]["ThrottlingRateLimit"] == DEPLOYMENT.api.rate_limit
    for path in ("/~1auth~1guest", "/~1auth~1login"):
        assert settings[(path, "POST")]["ThrottlingRateLimit"] == DEPLOYMENT.api.strict_rate_limit
        assert settings[(path, "POST")]["ThrottlingBurstLimit"] == DEPLOYMENT.api.strict_burst_limit
    assert ("/~1auth~1guest", "OPTIONS") not in settings
    assert ("/~1players~1me", "GET") not in settings
    assert api["TracingEnabled"] is True
    rule = template["Resources"][cfn.TRACE_SAMPLING]["Properties"]["SamplingRule"]
    assert rule["FixedRate"] == DEPLOYMENT.api.trace_sample_rate < 1
    assert rule["ReservoirSize"] == 0  # a quiet stage is sampled at the rate too, not traced whole
    assert rule["ServiceType"] == "AWS::ApiGateway::Stage"
    assert rule["ServiceName"] == {"Fn::Sub": f"{cfn.NAMES.prefix}-api/{api['StageName']}"}
    assert api["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": [cfn.API_ACCESS_LOGS, "Arn"]}
    assert json.loads(api["AccessLogSetting"]["Format"])["requestId"] == "$context.requestId"
    assert template["Resources"]["RestAPI"]["DependsOn"] == [cfn.API_ACCOUNT]


def test_gateway_answers_in_the_error_shape(template: dict[str, Any]) -> None:
    responses = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"][
        "x-amazon-apigateway-gateway-responses"
    ]
    expected = {
        "MISSING_AUTHENTICATION_TOKEN": "404",  # unknown route and wrong method
        "UNSUPPORTED_MEDIA_TYPE": "415",
        "UNAUTHORIZED": "401",
        "ACCESS_DENIED": "403",
        "THROTTLED": "429",
    }
    for kind, status in expected.items():
        assert responses[kind]["statusCode"] == status
    for kind, response in responses.items():
        body = response["responseTemplates"]["application/json"]
        # API Gateway substitutes $context values; a JSON string value stays a JSON string.
        rendered = body.replace("$context.error.messageString", '"a message"').replace("$context.requestId", "r-1")
        parsed = json.loads(rendered)
        assert set(parsed) == {"error", "code", "details"}, kind
        assert parsed["details"] == {"request_id": "r-1"}
    assert responses["THROTTLED"]["responseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"


def test_no_cognito_authorizer_at_the_gateway(template: dict[str, Any]) -> None:
    # The app verifies ID and access tokens itself in every stage (README, Deploying).
    body = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    assert "securityDefinitions" not in body


def test_alarms_cover_api_functions_tables_stream_and_queues(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    alarms = {k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    assert {"Api5xxAlarm", "LambdaErrorsAlarm", "LambdaThrottlesAlarm"} <= set(alarms)
    functions = {k for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}
    for name in ("LambdaErrorsAlarm", "LambdaThrottlesAlarm"):
        refs = {
            m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"]
            for m in alarms[name]["Metrics"]
            if "MetricStat" in m
        }
        assert refs == functions
    for props in alarms.values():
        assert props["AlarmActions"] == [{"Ref": cfn.ALARM_TOPIC}]
    body = resources[cfn.DASHBOARD]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert len(json.loads(body)["widgets"]) >= 6


def test_template_names_no_account_region_or_stack(template: dict[str, Any]) -> None:
    text = json.dumps(template)
    assert "us-east-1" not in text and "000000000000" not in text
    assert "game-prod" not in text


def test_outputs_refer_to_declared_resources(template: dict[str, Any]) -> None:
    for key in ("ApiUrl", "UserPoolId", "UserPoolClientId"):
        assert key in template["Outputs"]
    for output in template["Outputs"].values():
        value = output["Value"]
        if "Ref" in value:
            assert value["Ref"] in template["Resources"]
        if "Fn::GetAtt" in value:
            assert value["Fn::GetAtt"][0] in template["Resources"]


def test_a_stream_without_a_consumer_setting_is_refused() -> None:
    chalice = chalice_like()
    bare = cfn.DeploymentDefinition(queues=WITH_STREAM.queues, stream_consumers=())
    with pytest.raises(SystemExit, match="StreamConsumer"):
        cfn.merge_chalice(chalice, stage_prefix="game-test", deployment=bare)


@pytest.mark.parametrize("stage", sorted(chalice_config()["stages"]))
def test_every_stage_verifies_tokens_in_the_app(stage: str) -> None:
    # Same verifier, same accepted tokens (ID and access), same 401/403 bodies everywhere.
    assert Settings.from_env(stage_environment(stage)).auth_mode == "app"


def test_stage_prefix_comes_from_the_stage() -> None:
    assert cfn.stage_settings("prod") == ("game-prod", "admins")


def test_no_sampling_rule_without_tracing() -> None:
    untraced = dataclasses.replace(WITH_STREAM, api=dataclasses.replace(DEPLOYMENT.api, tracing=False))
    template = cfn.merge_chalice(chalice_like(), stage_prefix="game-prod", deployment=untraced)
    assert template["Resources"]["RestAPI"]["Properties"]["TracingEnabled"] is False
    assert cfn.TRACE_SAMPLING not in template["Resources"]
