"""Routes name their models as "module:Name"; every name must lead to a model."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

import app as _app  # noqa: F401 - every route declared
from chalicelib.api.http import ROUTES, model_of


def test_every_route_model_reference_resolves_to_a_pydantic_model() -> None:
    assert ROUTES
    for doc in ROUTES:
        for ref, model in ((doc.body_ref, doc.body), (doc.query_ref, doc.query), (doc.response_ref, doc.response)):
            if ref is None:
                assert model is None
                continue
            assert isinstance(model, type) and issubclass(model, BaseModel), (doc.method, doc.path, ref)


def test_a_reference_to_nothing_fails_loudly() -> None:
    with pytest.raises(AttributeError):
        model_of("chalicelib.models.players:NoSuchModel")
    with pytest.raises(ModuleNotFoundError):
        model_of("chalicelib.models.no_such_module:Model")
