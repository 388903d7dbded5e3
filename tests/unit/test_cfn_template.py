"""The CloudFormation merge template follows the data definition."""

from __future__ import annotations

from typing import Any

from chalice import Chalice, CognitoUserPoolAuthorizer

from chalicelib.storage.schema import DATA
from tools import cfn


def _template() -> dict[str, Any]:
    return cfn.build_template(stage_prefix="game-test")


def test_every_table_is_declared_as_in_data() -> None:
    resources = _template()["Resources"]
    tables = {k: v for k, v in resources.items() if v["Type"] == "AWS::DynamoDB::Table"}
    assert set(tables) == {cfn.table_logical_id(t) for t in DATA.tables}
    for table in DATA.tables:
        resource = resources[cfn.table_logical_id(table)]
        props = resource["Properties"]
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
        assert props["TableName"] == {"Fn::Sub": "${StagePrefix}-" + table.key}
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True
        }
        assert props["KeySchema"][0] == {
            "AttributeName": table.partition.name,
            "KeyType": "HASH",
        }
        if table.sort:
            assert props["KeySchema"][1] == {
                "AttributeName": table.sort.name,
                "KeyType": "RANGE",
            }
        defined = {
            a["AttributeName"]: a["AttributeType"]
            for a in props["AttributeDefinitions"]
        }
        assert defined == table.attributes
        indexes = {i["IndexName"]: i for i in props.get("GlobalSecondaryIndexes", [])}
        assert set(indexes) == {i.name for i in table.indexes}
        if table.ttl_attribute:
            assert props["TimeToLiveSpecification"] == {
                "AttributeName": table.ttl_attribute,
                "Enabled": True,
            }
        else:
            assert "TimeToLiveSpecification" not in props
        if table.stream:
            assert props["StreamSpecification"] == {"StreamViewType": table.stream}
        else:
            assert "StreamSpecification" not in props


def test_buckets_are_private_encrypted_and_take_presigned_uploads() -> None:
    resources = _template()["Resources"]
    for bucket in DATA.buckets:
        props = resources[cfn.bucket_logical_id(bucket)]["Properties"]
        assert all(props["PublicAccessBlockConfiguration"].values())
        assert props["BucketEncryption"]
        methods = props["CorsConfiguration"]["CorsRules"][0]["AllowedMethods"]
        assert {"GET", "PUT"} <= set(methods)


def test_user_pool_client_and_admin_group() -> None:
    resources = _template()["Resources"]
    assert resources["UserPool"]["Properties"]["AliasAttributes"] == ["email"]
    client = resources["UserPoolClient"]["Properties"]
    assert client["GenerateSecret"] is False
    assert set(client["ExplicitAuthFlows"]) == {
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_ADMIN_USER_PASSWORD_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
    }
    assert resources["AdminsGroup"]["Properties"]["GroupName"] == "admins"


def test_every_function_gets_the_names_of_the_stores() -> None:
    env = _template()["Globals"]["Function"]["Environment"]["Variables"]
    for table in DATA.tables:
        assert env[f"TABLE_{table.key.upper()}"] == {"Ref": cfn.table_logical_id(table)}
    for bucket in DATA.buckets:
        assert env[f"BUCKET_{bucket.key.upper()}"] == {
            "Ref": cfn.bucket_logical_id(bucket)
        }
    assert {"USER_POOL_ID", "USER_POOL_ARN", "USER_POOL_CLIENT_ID"} <= set(env)


def test_outputs_refer_to_declared_resources() -> None:
    template = _template()
    for output in template["Outputs"].values():
        value = output["Value"]
        if "Ref" in value:
            assert value["Ref"] in template["Resources"]
        if "Fn::GetAtt" in value:
            assert value["Fn::GetAtt"][0] in template["Resources"]


def test_stage_prefix_defaults_to_the_stage_table_prefix() -> None:
    template = cfn.stage_template("prod")
    assert template["Parameters"]["StagePrefix"]["Default"] == "game-prod"


def test_app_overrides_wire_authorizers_and_streams() -> None:
    app = Chalice(app_name="t")
    auth = CognitoUserPoolAuthorizer("cognito", provider_arns=["unknown-at-import"])

    @app.route("/me", authorizer=auth)
    def me() -> dict[str, str]:
        return {}

    @app.on_dynamodb_record(stream_arn="arn:aws:dynamodb:r:1:table/x-events/stream/1")
    def fold_events(event: Any) -> None:
        return None

    overrides = cfn.app_overrides(app)["Resources"]
    security = overrides["RestAPI"]["Properties"]["DefinitionBody"][
        "securityDefinitions"
    ]
    assert security["cognito"]["x-amazon-apigateway-authorizer"]["providerARNs"] == [
        {"Fn::GetAtt": ["UserPool", "Arn"]}
    ]
    events = overrides["FoldEvents"]["Properties"]["Events"]
    assert events["FoldEventsDynamodbEventSource"]["Properties"]["Stream"] == {
        "Fn::GetAtt": ["EventsTable", "StreamArn"]
    }
