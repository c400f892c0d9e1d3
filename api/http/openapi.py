"""The OpenAPI document tells the truth: every status a route can answer, with our bodies
(problem details, ``application/problem+json``).

FastAPI documents the success and its own 422 (``HTTPValidationError``, whose items require
``type``, which ours do not carry). ``document_errors`` post-processes the document FastAPI
builds: it walks the routes and declares, from what each route is (who may call it, what it
takes), the error answers it can give, with the bodies of ``api.http.schemas.errors``. A
route added later gets the same without anyone writing ``responses=`` by hand; a test
checks every route.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic.json_schema import models_json_schema

from api.http import deps
from api.http.problems import MEDIA_TYPE
from api.http.schemas.errors import (
    ConflictProblem,
    ErrorItem,
    ProblemDetails,
    ThrottledProblem,
    ValidationProblem,
)

LOGIN = "/auth/public/authenticate"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Reads that answer 409 by the auction's state: results, awards and reports wait for it.
STATEFUL_READS = frozenset({"get_results", "get_awards", "get_report"})
# Downloads: the media types a ``format`` query picks besides JSON.
DOWNLOADS: dict[str, tuple[str, ...]] = {
    "get_invoices": ("text/csv",),
    "get_nominations": ("text/csv", "application/xml"),
}

RULES = """
## Rules the schemas cannot say

- **Decimals** (MW, EUR/MW, EUR/MWh): send a JSON number (`12.5`) or a decimal string
  (`"12.5"`); answers carry JSON numbers. `NaN`, `Infinity` and exponents beyond the
  documented range are refused with a 422. Prices have at most two decimals, quantities are
  multiples of the product's `increment_mw`.
- **Passwords**: at least 12 characters (and at most the schema's `maxLength`); common
  and trivial passwords are refused.
- **Text**: NUL and other control characters are refused in every string.
- **Errors**: every error answer, whatever its status, is RFC 9457 problem details
  (`application/problem+json`): `{type, title, status, detail, instance, request_id}`, where
  `detail` says in one sentence what went wrong and `request_id` is the `X-Request-ID`. A
  422 also lists every problem in `errors` as `{loc, field, value, rule, msg}` (and `bid_id`
  in a batch); 409 and 412 add the facts to act on (such as `gate_close` or `version`); 429
  adds `retry_after_s` and `retry_at`. Another organisation's objects answer the same 404
  as missing ones.
- **Instants**: every instant an answer carries is UTC with `Z` (`2026-11-27T14:00:00Z`);
  requests may send any ISO 8601 instant with an offset.
- **Concurrency**: `If-Match: "<version>"` on an amendment or withdrawal answers 412 if
  the bid moved on; `Idempotency-Key` on a POST replays the first answer.
"""


def _answer(model: type[Any] | None, description: str) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description}
    if model is not None:
        ref = {"$ref": f"#/components/schemas/{model.__name__}"}
        answer["content"] = {MEDIA_TYPE: {"schema": ref}}
    return answer


ERROR_MODELS = (ErrorItem, ProblemDetails, ValidationProblem, ConflictProblem, ThrottledProblem)
ANSWERS: dict[int, dict[str, Any]] = {
    400: _answer(ProblemDetails, "the body cannot be read (not UTF-8, or a broken form)"),
    401: _answer(ProblemDetails, "no valid access token: send Authorization: Bearer <token>"),
    403: _answer(ProblemDetails, "operators only"),
    404: _answer(ProblemDetails, "no such object, or another organisation's (the same answer)"),
    409: _answer(ConflictProblem, "the state forbids it now; the answer names the facts"),
    412: _answer(ConflictProblem, "If-Match names a version that is no longer current"),
    413: _answer(ProblemDetails, "the body is larger than this route takes"),
    422: _answer(ValidationProblem, "the request breaks a rule (each problem listed)"),
    431: _answer(ProblemDetails, "the request line and headers are larger than 16 KiB"),
    500: _answer(
        ProblemDetails, "an internal error; nothing was changed (detail names a reference)"
    ),
    429: {
        **_answer(ThrottledProblem, "too many requests: wait as long as Retry-After says"),
        "headers": {
            "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}
        },
    },
}

_AUTHENTICATED: dict[Callable[..., Any], tuple[int, ...]] = {
    deps.any_user: (401,),
    deps.operator: (401, 403),
    # Another organisation answers the 404 of a missing one.
    deps.member: (401, 404),
    deps.reader: (401, 404),
}


def _walk(dependant: Dependant) -> list[Dependant]:
    """The route's dependant and every dependency below it."""
    out = [dependant]
    for sub in dependant.dependencies:
        out += _walk(sub)
    return out


def error_statuses(route: APIRoute) -> list[int]:
    """The error statuses ``route`` can answer, from who may call it and what it takes."""
    tree = _walk(route.dependant)
    headers = {(p.alias or p.name).lower() for d in tree for p in d.header_params}
    path_params = [p for d in tree for p in d.path_params]
    write = bool(set(route.methods or ()) & WRITES)
    login = route.path == LOGIN
    statuses = {422}
    for dependant in tree:
        statuses.update(_AUTHENTICATED.get(dependant.call, ()) if dependant.call else ())
    public = statuses == {422}
    statuses |= {431, 500}  # any request: headers too large, or a fault of ours
    if path_params or (write and not public):
        statuses.add(404)  # ids in the path or the body are looked up
    if (write and not login) or route.name in STATEFUL_READS:
        statuses.add(409)
    if "if-match" in headers:
        statuses.add(412)
    if route.body_field is not None:
        statuses |= {400, 413}
    if write:  # logins are throttled, writes rate-limited per organisation
        statuses.add(429)
    if login:
        statuses.add(401)
    return sorted(statuses)


def _with_errors(app: FastAPI, document: dict[str, Any]) -> dict[str, Any]:
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        path = document["paths"][context.path_format or route.path_format]
        for method in route.methods or ():
            responses = path[method.lower()]["responses"]
            for status in error_statuses(route):
                # A route's own words about a status stay; the body is ours.
                own = responses.get(str(status), {}).get("description")
                responses[str(status)] = {**ANSWERS[status]}
                if own and status != 422:
                    responses[str(status)]["description"] = own
            ok = responses.get(str(route.status_code or 200))
            for kind in DOWNLOADS.get(route.name, ()):
                if ok is not None:
                    ok.setdefault("content", {})[kind] = {"schema": {"type": "string"}}
            path[method.lower()]["responses"] = dict(sorted(responses.items()))
    _, definitions = models_json_schema(
        [(model, "serialization") for model in ERROR_MODELS],
        ref_template="#/components/schemas/{model}",
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(definitions.get("$defs", {}))
    # FastAPI's own 422 bodies are no longer referenced: ours replaced them everywhere.
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    document["info"]["description"] = document["info"].get("description", "") + RULES
    return document


def document_errors(app: FastAPI) -> None:
    """Make ``app.openapi()`` declare on every route the errors it can answer, with our
    bodies, and the rules outside the schemas (call once, when the app is built)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _with_errors(app, build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented hook
