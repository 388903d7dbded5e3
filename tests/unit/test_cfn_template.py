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
REST = dataclasses.replace(WITH_STREAM, api=dataclasses.replace(DEPLOYMENT.api, kind="rest"))
HANDLER_URI = {
    "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${APIHandler.Arn}/invocations"
}


def _operation(summary: str) -> dict[str, Any]:
    """A route as chalice package writes it: a proxy integration to the API handler."""
    return {
        "responses": {"200": {"description": "200 response"}},
        "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": HANDLER_URI},
        "summary": summary,
    }


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
                        "info": {"title": "game-backend"},
                        "paths": {
                            "/auth/guest": {"post": _operation("A guest account"), "options": {}},
                            "/auth/login": {"post": _operation("Sign in")},
                            "/players/me": {"get": _operation("The profile"), "patch": _operation("Edit it")},
                            "/leaderboards/{board_id}": {"get": _operation("A board's top")},
                        },
                    },
                },
            },
            "APIHandlerInvokePermission": {
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "FunctionName": {"Ref": "APIHandler"},
                    "Action": "lambda:InvokeFunction",
                    "Principal": "apigateway.amazonaws.com",
                    "SourceArn": {
                        "Fn::Sub": [
                            "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${RestAPIId}/*",
                            {"RestAPIId": {"Ref": "RestAPI"}},
                        ]
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
            "RestAPIId": {"Value": {"Ref": "RestAPI"}},
            "EndpointURL": {
                "Value": {"Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api/"}
            },
        },
    }


@pytest.fixture(scope="module", params=["http", "rest"])
def template(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The stack's template for each kind of API (the checks below hold for both)."""
    deployment = WITH_STREAM if request.param == "http" else REST
    return cfn.merge_chalice(chalice_like(), stage_prefix="game-test", deployment=deployment)


@pytest.fixture(scope="module")
def http_template() -> dict[str, Any]:
    assert WITH_STREAM.api.kind == "http"  # the default
    return cfn.merge_chalice(chalice_like(), stage_prefix="game-test", deployment=WITH_STREAM)


@pytest.fixture(scope="module")
def rest_template() -> dict[str, Any]:
    return cfn.merge_chalice(chalice_like(), stage_prefix="game-test", deployment=REST)


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
        # JSON lines at the app's level, none of Lambda's own START/END/REPORT lines.
        assert props["LoggingConfig"]["LogFormat"] == "JSON"
        assert props["LoggingConfig"]["SystemLogLevel"] == "WARN"
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


def test_http_api_replaces_the_rest_api_on_the_same_function_and_routes(http_template: dict[str, Any]) -> None:
    resources = http_template["Resources"]
    assert cfn.REST_API not in resources
    api = resources[cfn.HTTP_API]
    assert api["Type"] == "AWS::Serverless::HttpApi"
    props = api["Properties"]
    assert props["StageName"] == "api"
    assert props["Name"] == {"Fn::Sub": f"{cfn.NAMES.prefix}-api"}
    paths = props["DefinitionBody"]["paths"]
    routes = {(m, p) for p, ops in paths.items() for m in ops}
    assert routes == {
        ("post", "/auth/guest"),  # OPTIONS is Chalice's CORS stub: not a route here
        ("post", "/auth/login"),
        ("get", "/players/me"),
        ("patch", "/players/me"),
        ("get", "/leaderboards/{board_id}"),
        ("x-amazon-apigateway-any-method", "/$default"),
    }
    for ops in paths.values():
        for op in ops.values():
            integration = op["x-amazon-apigateway-integration"]
            # 1.0: the REST proxy event, which Chalice routes by requestContext.resourcePath.
            assert integration == {
                "type": "aws_proxy",
                "httpMethod": "POST",
                "uri": HANDLER_URI,
                "payloadFormatVersion": "1.0",
            }
    assert paths["/$default"]["x-amazon-apigateway-any-method"]["isDefaultRoute"] is True
    assert paths["/players/me"]["get"]["summary"] == "The profile"
    source = resources["APIHandlerInvokePermission"]["Properties"]["SourceArn"]
    assert source == {"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpAPI}/*"}
    outputs = http_template["Outputs"]
    assert "RestAPIId" not in outputs
    assert outputs["ApiUrl"]["Value"] == {
        "Fn::Sub": "https://${HttpAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api/"
    }
    # No gateway tracing (an HTTP API has none): no sampling rule, functions pass through.
    assert cfn.TRACE_SAMPLING not in resources
    assert "RestAPI" not in json.dumps(http_template)


def test_http_api_throttling_stricter_on_auth_routes_with_access_logs(http_template: dict[str, Any]) -> None:
    props = http_template["Resources"][cfn.HTTP_API]["Properties"]
    default = props["DefaultRouteSettings"]
    assert default["ThrottlingRateLimit"] == DEPLOYMENT.api.rate_limit
    assert default["ThrottlingBurstLimit"] == DEPLOYMENT.api.burst_limit
    assert default["DetailedMetricsEnabled"] is False
    assert props["RouteSettings"] == {
        f"POST {path}": {
            "ThrottlingRateLimit": DEPLOYMENT.api.strict_rate_limit,
            "ThrottlingBurstLimit": DEPLOYMENT.api.strict_burst_limit,
        }
        for path in ("/auth/guest", "/auth/login")
    }
    logs = props["AccessLogSettings"]
    assert logs["DestinationArn"] == {"Fn::GetAtt": [cfn.API_ACCESS_LOGS, "Arn"]}
    fields = json.loads(logs["Format"])
    assert fields["requestId"] == "$context.requestId" and fields["route"] == "$context.routeKey"


def test_http_api_alarm_and_dashboard_read_its_metrics(http_template: dict[str, Any]) -> None:
    resources = http_template["Resources"]
    metrics = {
        m["MetricStat"]["Metric"]["MetricName"]: m["MetricStat"]["Metric"]["Dimensions"]
        for m in resources["Api5xxAlarm"]["Properties"]["Metrics"]
        if "MetricStat" in m
    }
    # An HTTP API reports 5xx (not 5XXError) by ApiId and Stage (not ApiName).
    assert set(metrics) == {"5xx", "Count"}
    for dims in metrics.values():
        assert dims == [{"Name": "ApiId", "Value": {"Ref": cfn.HTTP_API}}, {"Name": "Stage", "Value": "api"}]
    body = json.loads(resources[cfn.DASHBOARD]["Properties"]["DashboardBody"]["Fn::Sub"])
    api_metrics = [m for w in body["widgets"] for m in w["properties"]["metrics"] if m[0] == "AWS/ApiGateway"]
    assert {m[1] for m in api_metrics} == {"Count", "4xx", "5xx", "Latency"}
    assert all(m[2:] == ["ApiId", "${HttpAPI}", "Stage", "api"] for m in api_metrics)


def test_rest_api_throttling_stricter_on_auth_routes(rest_template: dict[str, Any]) -> None:
    template = rest_template
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


def test_rest_gateway_answers_in_the_error_shape(rest_template: dict[str, Any]) -> None:
    responses = rest_template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"][
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
    resources = template["Resources"]
    body = resources[cfn.REST_API if cfn.REST_API in resources else cfn.HTTP_API]["Properties"]["DefinitionBody"]
    assert "securityDefinitions" not in body and "components" not in body
    assert not any("security" in op for ops in body["paths"].values() for op in ops.values())


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
    untraced = dataclasses.replace(REST, api=dataclasses.replace(REST.api, tracing=False))
    template = cfn.merge_chalice(chalice_like(), stage_prefix="game-prod", deployment=untraced)
    assert template["Resources"]["RestAPI"]["Properties"]["TracingEnabled"] is False
    assert cfn.TRACE_SAMPLING not in template["Resources"]
