"""Every input of every route has a bound (issue 15 item 5: "bounds to every number and date
in every schema"; item 8: "every text field has a length limit").

Read from the running app, so a new field without a bound fails here: in the API, each
string needs a maxLength (or an enum, or a date format with its range), each number a minimum
and a maximum, each list a maxItems, each free-form object a maxProperties; on the pages,
each form, query and path value the same. Files are bounded by the upload limits and the
body guard instead (web/body_guard.py).
"""

from __future__ import annotations

import pytest
from fastapi.routing import iter_route_contexts

from mutua.settings import Settings
from mutua.web.app import create_app


@pytest.fixture(scope="module")
def app():
    return create_app(Settings(database_url="sqlite://"))


def _unbounded(schema: dict, path: str, components: dict, inherited: dict | None = None) -> list[str]:
    while "$ref" in schema:
        schema = components[schema["$ref"].split("/")[-1]]
    inherited = {**(inherited or {}), **{k: v for k, v in schema.items() if k.startswith("format")}}
    alternatives = schema.get("anyOf") or schema.get("oneOf")
    if alternatives:
        # A Decimal is a bounded number or its digits as text: the number's bounds hold both.
        bounded_number = any(a.get("type") == "number" and "maximum" in a for a in alternatives)
        return [problem for a in alternatives
                if not (bounded_number and a == {"type": "string"})
                for problem in _unbounded(a, path, components, inherited)]
    kind = schema.get("type")
    if kind == "string":
        if "enum" in schema or "const" in schema or "contentMediaType" in schema:
            return []
        if inherited.get("format") in ("date", "date-time") or schema.get("format") in (
                "date", "date-time"):
            return [] if "formatMaximum" in inherited else [f"{path}: a date without a range"]
        return [] if "maxLength" in schema else [f"{path}: text without maxLength"]
    if kind in ("integer", "number"):
        low = "minimum" in schema or "exclusiveMinimum" in schema
        high = "maximum" in schema or "exclusiveMaximum" in schema
        return [] if low and high else [f"{path}: a number without a minimum and a maximum"]
    if kind == "array":
        found = [] if "maxItems" in schema else [f"{path}: a list without maxItems"]
        items = schema.get("prefixItems", []) + ([schema["items"]] if "items" in schema else [])
        return found + [p for item in items for p in _unbounded(item, path + "[]", components)]
    if kind == "object" or "properties" in schema:
        found = [p for name, sub in schema.get("properties", {}).items()
                 for p in _unbounded(sub, f"{path}.{name}", components)]
        extra = schema.get("additionalProperties")
        if extra not in (None, False):
            found += [] if "maxProperties" in schema else [f"{path}: an object without maxProperties"]
            if isinstance(extra, dict):
                found += _unbounded(extra, path + "{}", components)
        return found
    if kind in ("boolean", "null"):
        return []
    return [f"{path}: any value at all"]


def test_every_api_input_has_a_bound(app):
    spec = app.openapi()
    components = spec["components"]["schemas"]
    found = []
    for route, operations in spec["paths"].items():
        for method, op in operations.items():
            where = f"{method.upper()} {route}"
            for param in op.get("parameters", []):
                found += _unbounded(param["schema"], f"{where} {param['name']}", components)
            for content in op.get("requestBody", {}).get("content", {}).values():
                found += _unbounded(content["schema"], f"{where} body", components)
    assert found == []


def _flat(dependant):
    yield dependant
    for child in dependant.dependencies:
        yield from _flat(child)


def test_every_page_form_query_and_path_value_has_a_bound(app):
    found = []
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        if dependant is None or route.path.startswith("/api/"):
            continue
        for dep in _flat(dependant):
            for field in (*dep.query_params, *dep.body_params, *dep.path_params):
                kinds = {type(m).__name__ for m in field.field_info.metadata}
                shape = str(field.field_info.annotation)
                where = f"{route.path} {field.name}"
                if "UploadFile" in shape:
                    continue  # bounded by the upload limits and the body guard
                if "str" in shape and "MaxLen" not in kinds:
                    found.append(f"{where}: text without max_length")
                if ("int" in shape or "float" in shape) and not (
                        {"Le", "Lt", "MaxLen"} & kinds and ({"Ge", "Gt"} & kinds or "list" in shape)):
                    found.append(f"{where}: a number without ge and le")
    assert found == []
