"""The local AWS stand-in: linearizable conditional writes, persistence, provisioning."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from local_backend.standin import StandIn
from tools.provision import provision, write_stage_environment

pytest_plugins = ["tests.standin_fixtures"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
THREADS = 10
ROUNDS = 30
# No retries: a retried conditional failure must stay a failure, and we count attempts.
NO_RETRY = Config(retries={"mode": "standard", "max_attempts": 1}, max_pool_connections=THREADS)


def _client(standin: StandIn, service: str) -> Any:
    return boto3.client(service, endpoint_url=standin.endpoint_url, region_name="us-east-1", config=NO_RETRY)


def _race(attempt: Callable[[int], bool]) -> list[int]:
    """Run `attempt(thread)` in THREADS threads released together; the winners' numbers."""
    barrier = threading.Barrier(THREADS)
    winners: list[int] = []
    errors: list[BaseException] = []

    def run(thread: int) -> None:
        barrier.wait()
        try:
            if attempt(thread):
                winners.append(thread)
        except BaseException as exc:  # surfaced below, not lost in a thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return winners


def test_racing_conditional_puts_have_exactly_one_winner(standin: StandIn) -> None:
    ddb = _client(standin, "dynamodb")
    table = standin.outputs["tables"]["players"]["name"]

    for round_no in range(ROUNDS):
        key = f"race-put#{round_no}"

        def attempt(thread: int, key: str = key) -> bool:
            try:
                ddb.put_item(
                    TableName=table,
                    Item={"PK": {"S": key}, "SK": {"S": "claim"}, "owner": {"N": str(thread)}},
                    ConditionExpression="attribute_not_exists(PK)",
                )
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "ConditionalCheckFailedException"
                return False
            return True

        winners = _race(attempt)
        assert len(winners) == 1, f"round {round_no}: winners {winners}"
        item = ddb.get_item(TableName=table, Key={"PK": {"S": key}, "SK": {"S": "claim"}})
        assert item["Item"]["owner"] == {"N": str(winners[0])}


def test_racing_conditional_transactions_have_exactly_one_winner(standin: StandIn) -> None:
    ddb = _client(standin, "dynamodb")
    table = standin.outputs["tables"]["matchmaking"]["name"]

    for round_no in range(ROUNDS):
        ticket = {"PK": {"S": f"race-ticket#{round_no}"}, "SK": {"S": "ticket"}}
        ddb.put_item(TableName=table, Item={**ticket, "state": {"S": "waiting"}})

        def attempt(thread: int, round_no: int = round_no, ticket: Any = ticket) -> bool:
            # Claim the ticket and record a match, both or neither: the matchmaking shape.
            try:
                ddb.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": table,
                                "Key": ticket,
                                "UpdateExpression": "SET #s = :matched, match_id = :m",
                                "ConditionExpression": "#s = :waiting",
                                "ExpressionAttributeNames": {"#s": "state"},
                                "ExpressionAttributeValues": {
                                    ":matched": {"S": "matched"},
                                    ":waiting": {"S": "waiting"},
                                    ":m": {"S": f"match-{thread}"},
                                },
                            }
                        },
                        {
                            "Put": {
                                "TableName": table,
                                "Item": {
                                    "PK": {"S": f"race-match#{round_no}#{thread}"},
                                    "SK": {"S": "match"},
                                },
                                "ConditionExpression": "attribute_not_exists(PK)",
                            }
                        },
                    ]
                )
            except ClientError as exc:
                assert exc.response["Error"]["Code"] in (
                    "TransactionCanceledException",
                    "TransactionConflictException",
                )
                return False
            return True

        winners = _race(attempt)
        assert len(winners) == 1, f"round {round_no}: winners {winners}"
        item = ddb.get_item(TableName=table, Key=ticket)["Item"]
        assert item["match_id"] == {"S": f"match-{winners[0]}"}
        matches = [
            ddb.get_item(
                TableName=table,
                Key={"PK": {"S": f"race-match#{round_no}#{n}"}, "SK": {"S": "match"}},
            ).get("Item")
            for n in range(THREADS)
        ]
        assert sum(m is not None for m in matches) == 1


def _start_process(state_dir: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "local_backend.standin", "--port", "0", "--state-dir", str(state_dir)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    endpoint = process.stdout.readline().strip()
    assert endpoint.startswith("http://127.0.0.1:"), endpoint
    return process, endpoint


def _stop_process(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0


def test_data_survives_a_restart(tmp_path: Path) -> None:
    env = {"region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    process, endpoint = _start_process(tmp_path)
    try:
        ddb = boto3.client("dynamodb", endpoint_url=endpoint, **env)
        ddb.create_table(
            TableName="kept",
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.put_item(TableName="kept", Item={"PK": {"S": "a"}, "n": {"N": "1"}})
        cognito = boto3.client("cognito-idp", endpoint_url=endpoint, **env)
        pool = cognito.create_user_pool(PoolName="kept")["UserPool"]["Id"]
        client = cognito.create_user_pool_client(
            UserPoolId=pool, ClientName="c", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
        )["UserPoolClient"]["ClientId"]
        cognito.admin_create_user(UserPoolId=pool, Username="u", MessageAction="SUPPRESS")
        cognito.admin_set_user_password(UserPoolId=pool, Username="u", Password="Passw0rd-x", Permanent=True)
        s3 = boto3.client("s3", endpoint_url=endpoint, **env)
        s3.create_bucket(Bucket="kept")
        s3.put_object(Bucket="kept", Key="save.bin", Body=b"slot-1")
    finally:
        _stop_process(process)

    process, endpoint = _start_process(tmp_path)
    try:
        ddb = boto3.client("dynamodb", endpoint_url=endpoint, **env)
        item = ddb.get_item(TableName="kept", Key={"PK": {"S": "a"}})["Item"]
        assert item["n"] == {"N": "1"}
        cognito = boto3.client("cognito-idp", endpoint_url=endpoint, **env)
        tokens = cognito.initiate_auth(
            ClientId=client,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "u", "PASSWORD": "Passw0rd-x"},
        )["AuthenticationResult"]
        assert tokens["IdToken"]
        s3 = boto3.client("s3", endpoint_url=endpoint, **env)
        assert s3.get_object(Bucket="kept", Key="save.bin")["Body"].read() == b"slot-1"
    finally:
        _stop_process(process)


def test_provisioning_twice_changes_nothing(standin: StandIn, tmp_path: Path) -> None:
    session = boto3.session.Session(region_name="us-east-1")
    clients: dict[str, Any] = {
        name: session.client(name, endpoint_url=standin.endpoint_url) for name in ("dynamodb", "s3", "cognito-idp")
    }
    prefix = standin.outputs["prefix"]
    config = tmp_path / "config.json"
    shutil.copy(PROJECT_ROOT / ".chalice" / "config.json", config)

    changes: list[str] = []
    outputs = provision(
        dynamodb=clients["dynamodb"],
        s3=clients["s3"],
        cognito=clients["cognito-idp"],
        prefix=prefix,
        region="us-east-1",
        report=changes.append,
    )
    assert changes == []
    assert outputs == standin.outputs

    pools = clients["cognito-idp"].list_user_pools(MaxResults=60)["UserPools"]
    assert [p["Name"] for p in pools].count(f"{prefix}-players") == 1
    app_clients = clients["cognito-idp"].list_user_pool_clients(UserPoolId=outputs["USER_POOL_ID"], MaxResults=60)[
        "UserPoolClients"
    ]
    assert len(app_clients) == 1
    tables = clients["dynamodb"].list_tables()["TableNames"]
    assert len([t for t in tables if t.startswith(f"{prefix}-")]) == len(outputs["tables"])

    assert write_stage_environment("prod", outputs["env"], config) is True
    written = json.loads(config.read_text())["stages"]["prod"]["environment_variables"]
    assert written["USER_POOL_ID"] == outputs["USER_POOL_ID"]
    assert list(written)[:3] == ["APP_STAGE", "AUTH_MODE", "TABLE_PREFIX"]
    stat = os.stat(config)
    assert write_stage_environment("prod", outputs["env"], config) is False
    assert os.stat(config).st_mtime_ns == stat.st_mtime_ns
