"""The one place that renders errors under /api/ as problem+json, for the API and the webhook intake.

Every error under /api/ is an RFC 9457 problem document (`application/problem+json`):

    {"type": "https://bookdesk.invalid/problems/<code>", "title": "...", "status": 422,
     "detail": "...", "instance": "/api/...", "code": "<code>",
     "errors": [{"field": "date", "in": "query", "message": "..."}]}   # validation only

`code` is the stable, machine-readable part; docs/api-errors.md lists every code. Errors come
from three places, all rendered by `problem()`:

- exceptions raised inside an operation (`BookdeskError` subclasses, ninja's validation,
  authentication and HTTP errors, Django's Http404/PermissionDenied, oversized bodies, anything
  unexpected) → the exception handlers installed by `install_problem_handlers`;
- responses produced outside an operation (an unknown /api/ path, a wrong method on a known path,
  Django's own 500 page) → `ProblemJsonMiddleware`, which rewrites any non-JSON error response
  under /api/ into the problem document for its status.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver, re_path
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

from bookdesk.errors import BookdeskError, FieldError, InvalidJson, Problem, RateLimited

__all__ = ["BookdeskAPI", "FieldError", "Problem", "ProblemJsonMiddleware", "problem", "problem_for_status"]

logger = logging.getLogger("bookdesk.api")

PROBLEM_CONTENT_TYPE = "application/problem+json"
API_PREFIX = "/api/"

# The code for an error known only by its HTTP status (ninja HttpError, middleware rewrites).
STATUS_CODES: dict[int, str] = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    500: "server_error",
    501: "not_implemented",
    502: "bad_gateway",
    503: "unavailable",
}
STATUS_DETAILS: dict[int, str] = {
    401: "Sign in, or send a valid X-Session-Token.",
    404: "There is nothing at this address.",
    405: "This method is not allowed here; see the Allow header.",
    413: "The request body is too large.",
    500: "An unexpected error occurred; it has been logged.",
}


class BookdeskAPI(NinjaAPI):
    """A NinjaAPI whose every error is problem+json, in its answers and in its OpenAPI document."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        install_problem_handlers(self)

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content") or {}
                    if str(status).isdigit() and int(status) >= 400 and "application/json" in content:
                        response["content"] = {PROBLEM_CONTENT_TYPE: content["application/json"]}
        _document_wire_name(schema, "FieldError", python_name="in_", wire_name="in")
        _document_input_problems(schema)
        return schema

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        # Last, after docs, openapi.json and every route: any other /api/… path is a problem+json 404
        # answered here, not by the HTML 404 page.
        return [*super()._get_urls(), re_path(r"^.*$", _unknown_api_path, name="unknown")]


# Answered before any operation runs, so no route declares them: 400 for a request that cannot be read
# (malformed JSON, a bad Content-Length, a NUL in the path: ProblemJsonMiddleware and
# web.middleware.MalformedRequestMiddleware), 422 for parameters or a body that fail validation.
_INPUT_PROBLEMS = {
    "400": "The request could not be read (malformed JSON, headers or path).",
    "422": "A parameter or a field of the body is invalid; `errors` names each one.",
}


def _document_input_problems(schema: dict[str, Any]) -> None:
    """Every operation that takes input documents the 400 and 422 problems it can answer."""
    if "Problem" not in schema.get("components", {}).get("schemas", {}):
        return
    content = {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if not (operation.get("parameters") or operation.get("requestBody")):
                continue
            responses = operation.setdefault("responses", {})
            for status, description in _INPUT_PROBLEMS.items():
                if status not in responses and int(status) not in responses:
                    responses[status] = {"description": description, "content": content}


def _document_wire_name(schema: dict[str, Any], component: str, *, python_name: str, wire_name: str) -> None:
    """Ninja documents a field by its Python name; the wire (and so the document) uses its alias."""
    found = schema.get("components", {}).get("schemas", {}).get(component)
    if not found or python_name not in found.get("properties", {}):
        return
    found["properties"][wire_name] = found["properties"].pop(python_name)
    found["required"] = [wire_name if name == python_name else name for name in found.get("required", [])]


@csrf_exempt
def _unknown_api_path(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return problem_for_status(request, 404)


def problem(
    request: HttpRequest | None,
    *,
    status: int,
    code: str,
    title: str | None = None,
    detail: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    """An RFC 9457 problem document with a stable `code` (also usable from plain Django views)."""
    body: dict[str, Any] = {
        "type": f"https://bookdesk.invalid/problems/{code}",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail or title or HTTPStatus(status).phrase,
        "code": code,
    }
    if request is not None:
        body["instance"] = request.path
    if errors:
        body["errors"] = errors
    response = JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def problem_for_status(
    request: HttpRequest | None, status: int, *, headers: dict[str, str] | None = None
) -> HttpResponse:
    """The problem document for an error known only by its HTTP status."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return problem(
        request,
        status=status,
        code=STATUS_CODES.get(status, "server_error" if status >= 500 else "error"),
        title=phrase,
        detail=STATUS_DETAILS.get(status, phrase),
        headers=headers,
    )


def _field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    fields = []
    for error in exc.errors:
        loc = [str(part) for part in error.get("loc", ())]
        # ninja prefixes the location with where the value came from (query, body, path…).
        where, path = (
            (loc[0], loc[1:])
            if loc and loc[0] in {"query", "body", "path", "header", "cookie", "form", "file"}
            else ("body", loc)
        )
        fields.append({"field": ".".join(path) or where, "in": where, "message": str(error.get("msg", "invalid"))})
    return fields


def _on_bookdesk_error(request: HttpRequest, exc: BookdeskError) -> HttpResponse:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    return problem(
        request,
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        errors=exc.errors,
        headers=headers,
    )


def _on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return problem(
        request,
        status=422,
        code="invalid",
        title="The request is not valid",
        detail="One or more fields are invalid.",
        errors=_field_errors(exc),
    )


def _on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problem(
        request,
        status=401,
        code="not_authenticated",
        title="Sign-in required",
        detail=STATUS_DETAILS[401],
    )


def _on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem(request, status=404, code="not_found", title="Not found", detail=str(exc) or "Not found.")


def _on_permission_denied(request: HttpRequest, exc: DjangoPermissionDenied) -> HttpResponse:
    return problem(request, status=403, code="forbidden", title="Not allowed", detail=str(exc) or "Not allowed.")


def _on_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return problem(request, status=413, code="payload_too_large", detail=STATUS_DETAILS[413])


def _on_suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    # Django's message may echo attacker input (a bad Host header…); never send it back.
    logger.warning("suspicious request %s %s: %s", request.method, request.path, type(exc).__name__)
    return problem(request, status=400, code="bad_request", detail="The request could not be understood.")


def _on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    status = exc.status_code
    if status == 400 and isinstance(exc.__cause__, ValueError):
        # ninja raises HttpError(400) from the JSON decoder's error for an unparsable body.
        return _on_bookdesk_error(request, InvalidJson("The request body could not be parsed as JSON."))
    headers = None
    if isinstance(exc, Throttled) and exc.wait:
        headers = {"Retry-After": str(int(exc.wait))}
    return problem_for_status(request, status, headers=headers)


def _on_unexpected_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.error("unhandled error in %s %s", request.method, request.path, exc_info=exc)
    return problem(
        request,
        status=500,
        code="server_error",
        title="Something went wrong",
        detail=STATUS_DETAILS[500],
    )


# Exception class → renderer; ninja picks the handler of the nearest class in the exception's MRO.
_HANDLERS: list[tuple[type[Exception], Callable[..., HttpResponse]]] = [
    (BookdeskError, _on_bookdesk_error),
    (ValidationError, _on_validation_error),
    (AuthenticationError, _on_authentication_error),
    (HttpError, _on_http_error),
    (Http404, _on_not_found),
    (DjangoPermissionDenied, _on_permission_denied),
    (RequestDataTooBig, _on_too_big),
    (SuspiciousOperation, _on_suspicious),
    (Exception, _on_unexpected_error),
]


def install_problem_handlers(ninja_api: NinjaAPI) -> None:
    """Make every exception an operation can raise render as problem+json."""
    for exc_class, handler in _HANDLERS:
        ninja_api.add_exception_handler(exc_class, handler)


# Headers of the original error response worth keeping on its problem document.
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


class ProblemJsonMiddleware:
    """Rewrite any non-JSON error response under /api/ as problem+json.

    Django's URL resolver answers unknown /api/ paths before ninja runs, and ninja answers a
    wrong method with a plain-text 405; neither goes through the API's exception handlers.
    Sits last in MIDDLEWARE so it sees the view's (or resolver's) response first.
    """

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if response.status_code < 400 or not _is_api_path(request.path_info):
            return response
        content_type = response.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type in {"application/json", PROBLEM_CONTENT_TYPE}:
            return response
        headers = {name: response[name] for name in _KEPT_HEADERS if response.has_header(name)}
        rewritten = problem_for_status(request, response.status_code, headers=headers)
        rewritten.cookies = response.cookies
        return rewritten


def _is_api_path(path: str) -> bool:
    return path == API_PREFIX.rstrip("/") or path.startswith(API_PREFIX)
