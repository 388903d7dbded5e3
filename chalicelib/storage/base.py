"""What every repository shares: its table's client and name, injectable for tests."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from chalicelib.config import get_settings
from chalicelib.storage import aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class TableRepository:
    """A repository of one table of the data definition (`table_key`)."""

    table_key: ClassVar[str]

    def __init__(self, *, client: DynamoDBClient | None = None, table: str | None = None) -> None:
        self._client = client
        self._table = table

    @property
    def client(self) -> DynamoDBClient:
        return self._client or aws.dynamodb()

    @property
    def table(self) -> str:
        return self._table or get_settings().table_name(self.table_key)
