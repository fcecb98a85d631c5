"""The OpenAPI document (kiosk/openapi.yaml) describes exactly the routes the app serves under /api/v1."""
from __future__ import annotations

import importlib.resources
import re
from pathlib import Path

import pytest
import yaml

import kiosk
import kiosk.display
import kiosk.drivers
from kiosk.api import PREFIX, create_app

METHODS = {"get", "put", "post", "delete", "patch"}
ROLES = {"public", "technician", "manager", "guide", "counter"}


@pytest.fixture(scope="module")
def spec() -> dict:
    """The OpenAPI document as shipped in the package."""
    text = importlib.resources.files("kiosk").joinpath("openapi.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _openapi_path(rule: str) -> str:
    """``/api/v1/counters/<int:counter_id>/next`` -> ``/counters/{counter_id}/next``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule[len(PREFIX):])


def _operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def _error_codes(node):
    """Every ``{"error": {"code": ...}}`` example anywhere in the document."""
    if isinstance(node, dict):
        error = node.get("error")
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            yield error["code"]
        for value in node.values():
            yield from _error_codes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _error_codes(value)


def test_spec_documents_exactly_the_routes_of_the_app(hall, spec):
    """Situation: the app is built for a started hall, and the OpenAPI document is loaded from the package.
    Action: list every (path, method) under /api/v1 in the app's URL map (HEAD and OPTIONS aside) and in the spec.
    Outcome: the two sets are equal, so a route added without documentation (or documented but gone) fails."""
    app = create_app(hall)
    served = {(_openapi_path(rule.rule), method.lower())
              for rule in app.url_map.iter_rules() if rule.rule.startswith(PREFIX + "/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, method, _ in _operations(spec)}
    assert spec["servers"][0]["url"] == PREFIX
    assert served - documented == set(), "routes served but not documented"
    assert documented - served == set(), "routes documented but not served"


def test_every_operation_names_its_roles_and_a_success_answer(spec):
    """Situation: the OpenAPI document as shipped.
    Action: look at each operation's ``x-roles``, its responses and its path parameters.
    Outcome: each names known roles (technicians may do everything, so they are always listed unless the
    route is public), has a 2xx answer, and declares every ``{param}`` of its path."""
    for path, method, operation in _operations(spec):
        where = f"{method.upper()} {path}"
        roles = set(operation.get("x-roles", []))
        assert roles and roles <= ROLES, where
        assert "public" in roles or "technician" in roles, where
        assert any(str(status).startswith("2") for status in operation["responses"]), where
        declared = set()
        for param in operation.get("parameters", []):
            if "$ref" in param:
                param = spec["components"]["parameters"][param["$ref"].rsplit("/", 1)[1]]
            if param["in"] == "path":
                declared.add(param["name"])
        assert declared == set(re.findall(r"{([^}]+)}", path)), where


def test_error_codes_in_the_spec_exist_in_the_code(spec):
    """Situation: the spec's error examples and the roster rejection codes name machine-readable codes.
    Action: look for each code as a quoted string in the source of kiosk, kiosk.drivers and kiosk.display.
    Outcome: every code is found, so the spec does not promise a code the hall never sends."""
    roots = [Path(kiosk.__file__).parent, Path(kiosk.drivers.__file__).parent, Path(kiosk.display.__file__).parent]
    source = "\n".join(p.read_text(encoding="utf-8") for root in roots for p in root.rglob("*.py"))
    codes = set(_error_codes(spec))
    codes |= set(spec["components"]["schemas"]["RosterRejection"]["properties"]["code"]["enum"])
    assert len(codes) > 30
    missing = sorted(c for c in codes if f'"{c}"' not in source)
    assert missing == []
