"""Pytest fixtures for the local AWS stand-in; load with `pytest_plugins`."""

from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pytest

from chalicelib.config import reset_settings
from chalicelib.storage import aws
from chalicelib.storage.aws import reset_clients
from local_backend.standin import StandIn, start_standin
from tools.provision import ensure_admin_user, provision

TABLE_PREFIX = "game-test"
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "Admin-local-1"
# The stand-in serves one request at a time. On a loaded machine a test racing dozens of
# threads can wait longer than the app's 10 s read timeout for its turn, and the retry
# of a write that did happen is another outcome. The tests check outcomes, not the
# machine's speed (tests/faults.py injects failures on purpose), so they wait.
PATIENT = {"read_timeout": 600, "connect_timeout": 60}


@pytest.fixture(scope="session")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    """A provisioned stand-in on a free port; the environment points the app at it.

    `standin.outputs` holds the provisioning outputs (names, ARNs, `env`); the user
    `admin` / `Admin-local-1` is in the `admins` group.
    """
    saved = dict(os.environ)
    saved_config = aws.BOTO_CONFIG
    aws.BOTO_CONFIG = {**saved_config, **PATIENT}
    state_dir = tmp_path_factory.mktemp("standin-state")
    server = start_standin(port=0, state_dir=state_dir)
    try:
        os.environ.pop("AWS_PROFILE", None)
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": server.endpoint_url,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_REGION": "us-east-1",
                "AWS_DEFAULT_REGION": "us-east-1",
                "TABLE_PREFIX": TABLE_PREFIX,
                "AUTH_MODE": "app",
                "APP_STAGE": "local",
            }
        )
        session = boto3.session.Session(region_name="us-east-1")
        cognito = session.client("cognito-idp", endpoint_url=server.endpoint_url)
        outputs = provision(
            dynamodb=session.client("dynamodb", endpoint_url=server.endpoint_url),
            s3=session.client("s3", endpoint_url=server.endpoint_url),
            cognito=cognito,
            prefix=TABLE_PREFIX,
            region="us-east-1",
        )
        ensure_admin_user(cognito, outputs["USER_POOL_ID"], ADMIN_USERNAME, ADMIN_PASSWORD)
        server.outputs = outputs
        os.environ.update(outputs["env"])
        reset_settings()
        reset_clients()
        yield server
    finally:
        server.stop()
        aws.BOTO_CONFIG = saved_config
        os.environ.clear()
        os.environ.update(saved)
        reset_settings()
        reset_clients()
