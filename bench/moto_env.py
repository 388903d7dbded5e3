"""In-process moto with every table of the data definition, for benchmarks that count."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import boto3
from moto import mock_aws

from chalicelib.config import reset_settings
from chalicelib.storage import aws
from chalicelib.storage.schema import DATA
from tools.provision import ensure_table, table_name

PREFIX = "bench"


@contextmanager
def moto_tables() -> Iterator[None]:
    """moto's mock_aws, the app's settings pointed at it, all tables created."""
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "TABLE_PREFIX": PREFIX,
    }
    with mock.patch.dict(os.environ, env), mock_aws():
        os.environ.pop("AWS_ENDPOINT_URL", None)
        reset_settings()
        aws.reset_clients()
        client = boto3.client("dynamodb", region_name="us-east-1")
        for table in DATA.tables:
            ensure_table(client, table_name(PREFIX, table.key), table, poll_seconds=0)
        try:
            yield
        finally:
            aws.reset_clients()
            reset_settings()
