"""How the spec says each operation authenticates (app/auth.py reads the keys)."""

from __future__ import annotations

from typing import Any

from app.auth import is_page_route, uses_key

# How the spec declares the two ways in. They are declared here, after FastAPI made the spec,
# rather than as FastAPI security dependencies: each such dependency was solved on every
# request, with FastAPI's bookkeeping of OAuth scopes around it, for one header (read in app/auth.py).
SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "HTTPBearer": {"type": "http", "description": "`Authorization: Bearer <API key>`", "scheme": "bearer"},
    "_PageBasic": {
        "type": "http",
        "description": "Only on the pages for people (with `Accept: text/html`): any user name, the API "
        "key as password.",
        "scheme": "basic",
    },
}


def declare_security(routes: list[Any], spec: dict[str, Any]) -> None:
    """Declare in `spec` how each operation authenticates: Bearer where a key is read, and HTTP Basic
    besides on the pages for people; the schemes in the components."""
    for route in routes:
        if not getattr(route, "include_in_schema", False) or not uses_key(route):
            continue
        security: list[dict[str, list[str]]] = [{"HTTPBearer": []}]
        if is_page_route(route):
            security.append({"_PageBasic": []})
        item = spec["paths"][route.path_format]
        for method in route.methods or ():
            operation = item.get(method.lower())
            if operation is not None:
                item[method.lower()] = _with_security(operation, security)
    spec.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES


def _with_security(operation: dict[str, Any], security: list[dict[str, list[str]]]) -> dict[str, Any]:
    """`operation` with its `security` where FastAPI puts it: after what names the operation."""
    entries = [(name, content) for name, content in operation.items() if name != "security"]
    named = [i + 1 for i, (name, _content) in enumerate(entries) if name in ("operationId", "deprecated")]
    at = max(named, default=len(entries))
    return dict([*entries[:at], ("security", security), *entries[at:]])
