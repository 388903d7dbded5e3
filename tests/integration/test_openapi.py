"""The OpenAPI document covers exactly the app's routes and is a valid 3.1 document."""

from __future__ import annotations

from openapi_spec_validator import validate


def test_document_is_valid_openapi_31(api):
    resp = api.get("/openapi.json")
    assert resp.status == 200
    doc = resp.json
    assert doc["openapi"] == "3.1.0"
    validate(doc)


def test_every_route_is_documented_and_nothing_else(api, chalice_app):
    doc = api.get("/openapi.json").json
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    served = {(path, method) for path, methods in chalice_app.routes.items() for method in methods}
    assert served - documented == set(), "routes missing from the document"
    assert documented - served == set(), "documented routes the app does not serve"


def test_protected_routes_declare_security_and_401(api, chalice_app):
    doc = api.get("/openapi.json").json
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            public = path in ("/health", "/openapi.json") or path.startswith("/console")
            if (path.startswith("/auth/") and path != "/auth/upgrade") or public:
                assert op["security"] == [], (path, method)
            else:
                assert op["security"] == [{"bearerAuth": []}], (path, method)
                assert "401" in op["responses"], (path, method)
            if path.startswith("/admin/"):
                assert "403" in op["responses"], (path, method)


def test_every_documented_example_is_valid_for_its_route():
    from chalicelib.api.examples import EXAMPLES
    from chalicelib.api.http import ROUTES

    bodies = {(doc.method, doc.path): doc.body for doc in ROUTES if doc.body is not None}
    assert set(EXAMPLES) <= set(bodies), "an example for a route without a body"
    for key, example in EXAMPLES.items():
        bodies[key].model_validate(example)


def test_examples_appear_in_the_document(api):
    doc = api.get("/openapi.json").json
    body = doc["paths"]["/players/me/stats"]["post"]["requestBody"]["content"]["application/json"]
    assert body["example"] == {"updates": {"kills": 3, "high_score": 1200, "level": 4}}
