"""The deployed WebSocket API comes from the same stack template as everything else.

Runs `chalice package` through tools.cfn once for the module (offline), then checks the
WebSocket API, its routes and stage, the functions' push endpoint and the one role's
least-privilege `execute-api:ManageConnections`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chalicelib.storage.schema import DEPLOYMENT
from tools import cfn, iam

WS = DEPLOYMENT.websocket
assert WS is not None


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("ws-package")
    path = cfn.package("prod", out)
    return {"path": path, **json.loads(path.read_text())}


def _function_with_handler(resources: dict[str, Any], handler: str) -> str:
    [logical_id] = [
        k
        for k, v in resources.items()
        if v["Type"] == "AWS::Serverless::Function" and v["Properties"]["Handler"] == handler
    ]
    return logical_id


def test_routes_reach_the_apps_three_handlers(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    api = resources[cfn.WEBSOCKET_API]
    assert api["Type"] == "AWS::ApiGatewayV2::Api" and api["Properties"]["ProtocolType"] == "WEBSOCKET"
    routes = {v["Properties"]["RouteKey"]: v for v in resources.values() if v["Type"] == "AWS::ApiGatewayV2::Route"}
    assert set(routes) == {"$connect", "$default", "$disconnect"}
    for route_key, handler in (
        ("$connect", "app.ws_connect"),
        ("$default", "app.ws_message"),
        ("$disconnect", "app.ws_disconnect"),
    ):
        integration_id = routes[route_key]["Properties"]["Target"]["Fn::Join"][1][1]["Ref"]
        uri = json.dumps(resources[integration_id]["Properties"]["IntegrationUri"])
        assert _function_with_handler(resources, handler) in uri, route_key


def test_stage_and_throttling_come_from_the_definition(template: dict[str, Any]) -> None:
    stage = template["Resources"][cfn.WEBSOCKET_STAGE]["Properties"]
    assert stage["StageName"] == WS.stage
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] == WS.rate_limit
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] == WS.burst_limit


def test_every_function_pushes_to_the_stacks_own_api(template: dict[str, Any]) -> None:
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    url = variables["WEBSOCKET_MANAGEMENT_URL"]["Fn::Sub"]
    assert url == f"https://${{{cfn.WEBSOCKET_API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{WS.stage}"
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            assert "WEBSOCKET_MANAGEMENT_URL" not in resource["Properties"].get("Environment", {}).get("Variables", {})
            assert resource["Properties"]["Role"] == {"Fn::GetAtt": [cfn.FUNCTION_ROLE, "Arn"]}


def test_manage_connections_is_granted_once_on_this_apis_connections_only(template: dict[str, Any]) -> None:
    grants = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                if any(a.startswith("execute-api:") for a in actions):
                    grants.append((logical_id, actions, statement["Resource"]))
    assert len(grants) == 1
    role, actions, resources = grants[0]
    assert role == cfn.FUNCTION_ROLE and actions == ["execute-api:ManageConnections"]
    arns = sorted(r["Fn::Sub"] for r in resources)
    assert arns == sorted(
        f"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{cfn.WEBSOCKET_API}}}"
        f"/{WS.stage}/{method}/@connections/*"
        for method in WS.management_methods
    )


def test_template_passes_cfn_lint(template: dict[str, Any]) -> None:
    lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(lint), "--format", "parseable", str(template["path"])], capture_output=True, text=True)
    errors = [line for line in result.stdout.splitlines() if ":E" in line]
    assert not errors, "\n".join(errors)


def test_chalice_deploy_path_scopes_connections_to_account_region_and_stage() -> None:
    names = iam.Names(
        prefix="game-dev",
        account="123456789012",
        region="eu-west-1",
        user_pool_arn="arn:aws:cognito-idp:eu-west-1:123456789012:userpool/x",
    )
    policy = iam.build_policy(names)
    [statement] = [s for s in policy["Statement"] if s["Sid"] == "WebSocketConnections"]
    assert statement["Action"] == ["execute-api:ManageConnections"]
    assert sorted(statement["Resource"]) == [
        "arn:aws:execute-api:eu-west-1:123456789012:*/api/DELETE/@connections/*",
        "arn:aws:execute-api:eu-west-1:123456789012:*/api/POST/@connections/*",
    ]
