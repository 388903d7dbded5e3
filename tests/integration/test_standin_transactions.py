"""A cancelled transaction on the stand-in leaves every item and the stream as they were
(it is rolled back item by item, not by copying whole tables)."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError

from chalicelib.storage import aws
from chalicelib.storage.events import EventsRepository
from tests.integration.events_helpers import stream_records


def test_a_cancelled_transaction_writes_nothing_and_streams_nothing(standin):
    client, table = aws.dynamodb(), EventsRepository().table
    player = f"tx-{uuid.uuid4().hex}"

    def key(sk: str) -> dict[str, dict[str, str]]:
        return {"PK": {"S": f"P#{player}"}, "SK": {"S": sk}}

    client.put_item(TableName=table, Item={**key("E#a"), "n": {"N": "1"}})
    client.put_item(TableName=table, Item={**key("E#c"), "n": {"N": "1"}})
    before = stream_records({player})
    with pytest.raises(ClientError) as err:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {**key("E#b"), "n": {"N": "2"}}}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": key("E#a"),
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {"Delete": {"TableName": table, "Key": key("E#c")}},
                {
                    "Put": {
                        "TableName": table,
                        "Item": {**key("E#a2"), "n": {"N": "3"}},
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                },
            ]
        )
    assert err.value.response["Error"]["Code"] == "TransactionCanceledException"
    items = client.query(
        TableName=table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"P#{player}"}},
        ConsistentRead=True,
    )["Items"]
    assert sorted((i["SK"]["S"], i["n"]["N"]) for i in items) == [("E#a", "1"), ("E#c", "1")]
    assert stream_records({player}) == before
    # The same transaction without the failing condition commits whole.
    client.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": {**key("E#b"), "n": {"N": "2"}}}},
            {"Delete": {"TableName": table, "Key": key("E#c")}},
        ]
    )
    assert [r["eventName"] for r in stream_records({player})][len(before) :] == ["INSERT", "REMOVE"]
