"""The stand-in holds a day of play: transactions cost what they write, Time to Live is
applied, stream records are trimmed after 24 h, and ClientRequestToken makes a retried
TransactWriteItems the same request."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local_backend.standin import StandIn

pytest_plugins = ["tests.standin_fixtures"]

NO_RETRY = Config(retries={"mode": "standard", "max_attempts": 1})


def _client(standin: StandIn, service: str = "dynamodb") -> Any:
    return boto3.client(service, endpoint_url=standin.endpoint_url, region_name="us-east-1", config=NO_RETRY)


def _table(standin: StandIn, *, ttl: bool = False) -> str:
    """A fresh table (PK, SK) with a stream; Time to Live on `expires_at` if asked."""
    ddb = _client(standin)
    name = f"hk-{uuid.uuid4().hex[:12]}"
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    if ttl:
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
        )
    return name


def _key(pk: str, sk: str = "item") -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def _records(standin: StandIn, table: str, **position: Any) -> list[dict[str, Any]]:
    ddb, streams = _client(standin), _client(standin, "dynamodbstreams")
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, **(position or {"ShardIteratorType": "TRIM_HORIZON"})
    )["ShardIterator"]
    return streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]  # type: ignore[no-any-return]


def _set_created(stream_record: Any, created: dt.datetime) -> None:
    """Backdate a record the stand-in holds (a record is changed by assigning it back)."""
    record = stream_record.record
    record["dynamodb"]["ApproximateCreationDateTime"] = created
    stream_record.record = record


def _moto_table(table: str) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends["123456789012"]["us-east-1"].tables[table]


# -- transactions ---------------------------------------------------------------------


def test_a_transaction_does_not_copy_the_tables_it_touches(standin: StandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.models.table import Table

    ddb = _client(standin)
    table = _table(standin)
    for n in range(50):
        ddb.put_item(TableName=table, Item={**_key(f"p{n}"), "n": {"N": "0"}})
    copies: list[str] = []

    def count(self: Table, memo: Any) -> Table:
        copies.append(self.name)
        raise AssertionError("a table was deep-copied")

    monkeypatch.setattr(Table, "__deepcopy__", count, raising=False)
    items = [
        {
            "Update": {
                "TableName": table,
                "Key": _key(f"p{n}"),
                "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }
        for n in range(10)
    ]
    ddb.transact_write_items(TransactItems=items)
    with pytest.raises(ClientError) as failed:
        ddb.transact_write_items(
            TransactItems=[
                *items[:5],
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": _key("p9"),
                        "ConditionExpression": "n = :zero",
                        "ExpressionAttributeValues": {":zero": {"N": "0"}},
                    }
                },
            ]
        )
    assert failed.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert copies == []
    values = [ddb.get_item(TableName=table, Key=_key(f"p{n}"))["Item"]["n"]["N"] for n in range(10)]
    assert values == ["1"] * 10


def test_a_cancelled_transaction_leaves_items_and_stream_as_they_were(standin: StandIn) -> None:
    ddb = _client(standin)
    table = _table(standin)
    ddb.put_item(TableName=table, Item={**_key("kept"), "n": {"N": "1"}, "name": {"S": "x"}})
    before = _records(standin, table)
    with pytest.raises(ClientError) as failed:
        ddb.transact_write_items(
            TransactItems=[
                # Applied first by moto, then undone: an in-place update and a new item.
                {
                    "Update": {
                        "TableName": table,
                        "Key": _key("kept"),
                        "UpdateExpression": "SET n = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
                {"Put": {"TableName": table, "Item": {**_key("new"), "n": {"N": "5"}}}},
                # Fails while applying: ADD on a string attribute.
                {
                    "Update": {
                        "TableName": table,
                        "Key": _key("kept", "other"),
                        "UpdateExpression": "SET s = :s",
                        "ExpressionAttributeValues": {":s": {"S": "text"}},
                    }
                },
                {
                    "Update": {
                        "TableName": table,
                        "Key": _key("new", "b"),
                        "UpdateExpression": "ADD name :one",
                        "ConditionExpression": "attribute_exists(PK)",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
            ]
        )
    assert failed.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert ddb.get_item(TableName=table, Key=_key("kept"))["Item"] == {
        **_key("kept"),
        "n": {"N": "1"},
        "name": {"S": "x"},
    }
    assert "Item" not in ddb.get_item(TableName=table, Key=_key("new"))
    assert "Item" not in ddb.get_item(TableName=table, Key=_key("kept", "other"))
    assert _records(standin, table) == before


# -- Time to Live and stream retention --------------------------------------------------


def test_time_to_live_deletes_expired_items_only_with_a_service_stream_record(standin: StandIn) -> None:
    ddb = _client(standin)
    table = _table(standin, ttl=True)
    now = time.time()
    items = {
        "expired": {"expires_at": {"N": str(int(now - 100))}},
        "future": {"expires_at": {"N": str(int(now + 3600))}},
        "text": {"expires_at": {"S": str(int(now - 100))}},
        "none": {},
        # DynamoDB leaves items that expired more than five years ago.
        "ancient": {"expires_at": {"N": str(int(now - 6 * 365 * 86400))}},
    }
    for name, extra in items.items():
        ddb.put_item(TableName=table, Item={**_key(name), **extra})

    report = standin.housekeep(now)

    assert report.per_table.get(table) == 1
    left = {i["PK"]["S"] for i in ddb.scan(TableName=table)["Items"]}
    assert left == {"future", "text", "none", "ancient"}
    removal = _records(standin, table)[-1]
    assert removal["eventName"] == "REMOVE" and removal["dynamodb"]["Keys"] == _key("expired")
    assert removal["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}


def test_stream_records_older_than_a_day_are_trimmed(standin: StandIn) -> None:
    ddb = _client(standin)
    table = _table(standin)
    for n in range(5):
        ddb.put_item(TableName=table, Item=_key(f"r{n}"))
    records = _records(standin, table)
    sequence = [r["dynamodb"]["SequenceNumber"] for r in records]
    # The first three were written 25 hours ago.
    old = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(hours=25)
    for record in _moto_table(table).stream_shard.items[:3]:
        _set_created(record, old)

    assert standin.housekeep().stream_records >= 3

    kept = _records(standin, table)
    assert [r["dynamodb"]["SequenceNumber"] for r in kept] == sequence[3:]
    # A reader whose checkpoint was trimmed resumes at the oldest record kept.
    behind = _records(standin, table, ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=sequence[0])
    assert [r["dynamodb"]["SequenceNumber"] for r in behind] == sequence[3:]
    ddb.put_item(TableName=table, Item=_key("r5"))
    after = _records(standin, table, ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=sequence[-1])
    assert [r["dynamodb"]["Keys"] for r in after] == [_key("r5")]
    assert int(after[0]["dynamodb"]["SequenceNumber"]) > int(sequence[-1])


def _only_item(table: str) -> Any:
    (partition,) = _moto_table(table).items.values()
    (item,) = partition.values()
    return item


def test_replaced_deleted_and_trimmed_objects_are_freed(standin: StandIn) -> None:
    """moto keeps every model object it ever made (items, stream records, tokens) in a list
    for its dashboard; the stand-in does not, so memory follows the live data, not the
    number of writes."""
    import gc
    import weakref

    ddb = _client(standin)
    table = _table(standin)
    ddb.put_item(TableName=table, Item={**_key("a"), "n": {"N": "1"}})
    first = weakref.ref(_only_item(table))
    ddb.put_item(TableName=table, Item={**_key("a"), "n": {"N": "2"}})  # replaces it
    second = weakref.ref(_only_item(table))
    ddb.delete_item(TableName=table, Key=_key("a"))
    record = weakref.ref(_moto_table(table).stream_shard.items[0])
    old = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(hours=25)
    for stream_record in _moto_table(table).stream_shard.items:
        _set_created(stream_record, old)
    assert standin.housekeep().stream_records >= 3

    assert standin._app is not None
    with standin._app.lock:  # no state save (a pickling) holds them meanwhile
        gc.collect()
        assert [ref() is None for ref in (first, second, record)] == [True, True, True]


def _deep_size(value: Any) -> int:
    """Bytes held by a value and everything it holds (dicts, lists, strings, attributes)."""
    import sys

    size = sys.getsizeof(value)
    if isinstance(value, dict):
        size += sum(_deep_size(k) + _deep_size(v) for k, v in value.items())
    elif isinstance(value, list | tuple):
        size += sum(_deep_size(v) for v in value)
    elif hasattr(value, "__dict__"):
        size += _deep_size(vars(value))
    elif hasattr(value, "__slots__"):
        size += sum(
            _deep_size(getattr(value, name))
            for name in value.__slots__
            if hasattr(value, name) and name != "__weakref__"
        )
    return size


def test_a_day_of_stream_records_is_held_compressed(standin: StandIn) -> None:
    """Stream records are kept 24 hours: held as moto's nested dicts, a write of a 200-byte
    item costs several KB of memory for a day; the stand-in holds each compressed, and reads
    give back exactly what moto would."""
    ddb = _client(standin)
    table = _table(standin)
    item = {
        **_key("p"),
        "type": {"S": "level_up"},
        "data": {"S": '{"level": 3, "hp": 40, "zone": "forest-2"}'},
        "session_id": {"S": "0123456789abcdef0123456789abcdef"},
        "ts": {"N": "1764633600.5"},
        "day": {"S": "2026-12-01"},
        "expires_at": {"N": "1772409600"},
    }
    ddb.put_item(TableName=table, Item=item)
    writes = 50
    for n in range(writes):  # each replaces the one item: a MODIFY record with both images
        ddb.put_item(TableName=table, Item={**item, "ts": {"N": str(n)}})

    held = _moto_table(table).stream_shard.items[1:]
    assert len(held) == writes
    compact = sum(_deep_size(record) for record in held) / writes
    as_moto_holds_it = sum(_deep_size(record.record) for record in held) / writes
    # About 0.6 KB a record compressed, 9 KB as nested dicts (counted by getsizeof, which
    # does not see strings shared between records).
    assert compact < 1000, f"{compact:.0f} bytes a record"
    assert as_moto_holds_it > 4 * compact, (as_moto_holds_it, compact)

    records = _records(standin, table)
    assert [r["eventName"] for r in records] == ["INSERT"] + ["MODIFY"] * writes
    assert records[-1]["dynamodb"]["NewImage"] == {**item, "ts": {"N": str(writes - 1)}}
    assert records[-1]["dynamodb"]["OldImage"] == {**item, "ts": {"N": str(writes - 2)}}


def test_reads_of_missing_items_leave_nothing_behind(standin: StandIn) -> None:
    ddb = _client(standin)
    table = _table(standin)
    for n in range(20):
        ddb.get_item(TableName=table, Key=_key(f"missing{n}"))
    standin.housekeep()
    assert len(_moto_table(table).items) == 0


# -- ClientRequestToken -----------------------------------------------------------------


def _add(table: str, pk: str, amount: int = 1) -> list[dict[str, Any]]:
    return [
        {
            "Update": {
                "TableName": table,
                "Key": _key(pk),
                "UpdateExpression": "ADD n :a",
                "ExpressionAttributeValues": {":a": {"N": str(amount)}},
            }
        }
    ]


def test_a_repeated_client_request_token_is_the_same_request(standin: StandIn) -> None:
    ddb = _client(standin)
    table = _table(standin)
    token = uuid.uuid4().hex
    first = ddb.transact_write_items(TransactItems=_add(table, "c"), ClientRequestToken=token)
    again = ddb.transact_write_items(TransactItems=_add(table, "c"), ClientRequestToken=token)
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert {k: v for k, v in again.items() if k != "ResponseMetadata"} == {
        k: v for k, v in first.items() if k != "ResponseMetadata"
    }
    assert ddb.get_item(TableName=table, Key=_key("c"))["Item"]["n"] == {"N": "1"}
    assert len(_records(standin, table)) == 1
    # Another token is another request.
    ddb.transact_write_items(TransactItems=_add(table, "c"), ClientRequestToken=uuid.uuid4().hex)
    assert ddb.get_item(TableName=table, Key=_key("c"))["Item"]["n"] == {"N": "2"}


def test_the_same_token_with_other_content_is_refused_and_writes_nothing(standin: StandIn) -> None:
    ddb = _client(standin)
    table = _table(standin)
    token = uuid.uuid4().hex
    ddb.transact_write_items(TransactItems=_add(table, "m"), ClientRequestToken=token)
    with pytest.raises(ClientError) as refused:
        ddb.transact_write_items(TransactItems=_add(table, "m", 5), ClientRequestToken=token)
    assert refused.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    assert ddb.get_item(TableName=table, Key=_key("m"))["Item"]["n"] == {"N": "1"}


def test_a_cancelled_transaction_is_evaluated_again_on_retry(standin: StandIn) -> None:
    ddb = _client(standin)
    table = _table(standin)
    token = uuid.uuid4().hex
    guarded = [
        {
            "Update": {
                "TableName": table,
                "Key": _key("g"),
                "UpdateExpression": "SET n = :one",
                "ConditionExpression": "attribute_exists(ready)",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }
    ]
    with pytest.raises(ClientError) as cancelled:
        ddb.transact_write_items(TransactItems=guarded, ClientRequestToken=token)
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    ddb.put_item(TableName=table, Item={**_key("g"), "ready": {"BOOL": True}})
    ddb.transact_write_items(TransactItems=guarded, ClientRequestToken=token)
    assert ddb.get_item(TableName=table, Key=_key("g"))["Item"]["n"] == {"N": "1"}


def test_botocore_sends_one_token_for_all_its_attempts(standin: StandIn) -> None:
    """botocore fills ClientRequestToken itself and resends the same body on a retry, so a
    retry after a lost answer is answered from the first attempt."""
    ddb = boto3.client(
        "dynamodb",
        endpoint_url=standin.endpoint_url,
        region_name="us-east-1",
        config=Config(retries={"mode": "standard", "max_attempts": 3}),
    )
    table = _table(standin)
    bodies: list[dict[str, Any]] = []
    attempts = {"n": 0}

    def lose_first_answer(response_dict: dict[str, Any], **_: Any) -> None:
        attempts["n"] += 1
        if attempts["n"] == 1:
            # The write happened; the client sees a throttle instead and retries.
            response_dict["status_code"] = 400
            response_dict["body"] = json.dumps({"__type": "ThrottlingException", "message": "lost"}).encode()

    def keep_body(request: Any, **_: Any) -> None:
        bodies.append(json.loads(request.body))

    ddb.meta.events.register("before-send.dynamodb.TransactWriteItems", keep_body)
    ddb.meta.events.register("before-parse.dynamodb.TransactWriteItems", lose_first_answer)
    ddb.transact_write_items(TransactItems=_add(table, "b"))
    assert len(bodies) == 2 and bodies[0] == bodies[1]
    assert bodies[0]["ClientRequestToken"]
    assert ddb.get_item(TableName=table, Key=_key("b"))["Item"]["n"] == {"N": "1"}
