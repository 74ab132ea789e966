"""The OpenAPI document, built from the same route table the application serves."""

from __future__ import annotations

import re
from typing import Any

from pathway.web.routes import ApiRoute

ERROR = {"$ref": "#/components/schemas/Error"}
_STATUS = {"401": "not signed in", "403": "not allowed (exit 5)", "400": "bad input (exit 2)",
           "404": "not found (exit 3)", "409": "changed meanwhile (exit 4)", "422": "refused by a guard (exit 1)"}


TEXT_PARAMS = frozenset({"name"})  # path parameters that are not ids (a user name)


def document(routes: list[ApiRoute], version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        params = [{"name": n, "in": "path", "required": True,
                   "schema": {"type": "string" if n in TEXT_PARAMS else "integer"}}
                  for n in re.findall(r"{(\w+)}", route.path)]  # fmt: skip
        params += [{"name": n, "in": "query", "required": False, "schema": {"type": "string"}} for n in route.query]
        operation: dict[str, Any] = {
            "summary": route.summary,
            "operationId": f"{route.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', route.path.lower()).strip('_')}",
            "parameters": params,
            "responses": {str(route.status): {"description": "success"},
                          **{code: {"description": text, "content": {"application/json": {"schema": ERROR}}}
                             for code, text in _STATUS.items()}},
        }  # fmt: skip
        if route.upload:
            operation["requestBody"] = {"required": True, "content": {kind: {"schema": {"type": "string",
                                        "format": "binary"}} for kind in route.upload.split()}}  # fmt: skip
        elif route.body:
            properties: dict[str, Any] = {name: {} for name in route.body}
            operation["requestBody"] = {"content": {"application/json": {"schema": {"type": "object",
                                                                                   "properties": properties}}}}
        if route.signed_in:
            operation["security"] = [{"bearer": []}, {"session": []}]
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "pathway", "version": version},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "session": {"type": "apiKey", "in": "cookie", "name": "pathway_session"}},
            "schemas": {"Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {
                "exit_code": {"type": "integer"}, "message": {"type": "string"},
                "reasons": {"type": "array", "items": {"type": "string"}}}}}}},
        },
    }  # fmt: skip
