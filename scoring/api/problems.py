"""One error shape for the whole API: RFC 9457 problem details, plus the strict JSON parser that feeds it.

Every failure under /api/ (validation, parse errors, auth, throttling, unknown
URLs, database outages) leaves as ``application/problem+json`` with ``type``,
``title``, ``status``, ``detail`` and, for validation, ``errors: {field: [messages]}``.
"""

from __future__ import annotations

import json
import logging
import math
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import Http404, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser

from scoring.display.messages import engine_errors
from scoring.exceptions import (
    ActivationConflict,
    DuplicateApplication,
    IdempotencyConflict,
    InvalidApplication,
    InvalidBatchFile,
    InvalidNotice,
    InvalidReview,
    ModelUnavailable,
    NotAllowed,
    NotFinalDecline,
)

log = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:creditscore:problem:"
# Set on the Django request when no renderer matches the Accept header (see DeferredNotAcceptable).
NOT_ACCEPTABLE_FLAG = "api_not_acceptable"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is too large.")
    default_code = "payload_too_large"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The resource is not in a state that allows this request.")
    default_code = "conflict"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("The service is temporarily unavailable; nothing was recorded. Try again shortly.")
    default_code = "service_unavailable"


# The title of each status the API answers, in the reader's language (the HTTP reason phrase in English).
_TITLES = {
    400: _("Bad Request"),
    401: _("Unauthorized"),
    403: _("Forbidden"),
    404: _("Not Found"),
    405: _("Method Not Allowed"),
    406: _("Not Acceptable"),
    409: _("Conflict"),
    413: _("Request Entity Too Large"),
    415: _("Unsupported Media Type"),
    429: _("Too Many Requests"),
    500: _("Internal Server Error"),
    503: _("Service Unavailable"),
}


def problem_title(status_code: int) -> str:
    """A status's title as the API gives it: the HTTP reason phrase, in the reader's language when known."""
    return str(_TITLES.get(status_code) or HTTPStatus(status_code).phrase)


def problem(status_code: int, detail: str, *, kind: str = "", errors: dict[str, list[str]] | None = None) -> dict:
    """The problem-details body for ``status_code``; ``kind`` names a specific problem type."""
    body: dict[str, object] = {
        "type": TYPE_PREFIX + kind if kind else "about:blank",
        "title": problem_title(status_code),
        "status": status_code,
        "detail": str(detail),
    }
    if errors is not None:
        body["errors"] = errors
    return body


class ProblemResponse(JsonResponse):
    """A problem document, rendered here as JSON whatever renderer the view negotiated.

    DRF renders a ``Response`` with the renderer chosen from the view's list and the
    request's Accept header: the schema view's YAML, Swagger UI's HTML template, or a 406
    when the client accepts none of them. An error is always problem+json, so it never
    goes through that choice (DRF passes a plain Django response through untouched).
    """

    def __init__(self, body: dict, *, headers: dict[str, str] | None = None):
        super().__init__(body, status=body["status"], content_type=PROBLEM_CONTENT_TYPE, headers=headers)


def problem_response(status_code: int, detail: str, **kwargs) -> ProblemResponse:
    """A problem response, in or outside DRF's views (unknown URLs under /api/, middleware, health checks)."""
    return ProblemResponse(problem(status_code, detail, **kwargs))


def flatten_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as ``{"applications.3.inputs": ["..."]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = str(key) if not prefix else f"{prefix}.{key}"
            for k, v in flatten_errors(value, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list) and detail and all(not isinstance(d, dict | list) for d in detail):
        out[prefix or "non_field_errors"] = [str(d) for d in detail]
    elif isinstance(detail, list):
        for i, value in enumerate(detail):
            for k, v in flatten_errors(value, f"{prefix}.{i}" if prefix else str(i)).items():
                out.setdefault(k, []).extend(v)
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def existing_decision(prediction, request) -> dict:
    """Where a client finds the decision a duplicate repeats: its id, its URL and when it was made."""
    path = reverse("api:prediction-detail", args=[prediction.pk])
    return {
        "id": prediction.pk,
        "url": request.build_absolute_uri(path) if request is not None else path,
        "created_at": serializers.DateTimeField().to_representation(prediction.created_at),
    }


def prefixed(errors: dict[str, list[str]], prefix: str) -> dict[str, list[str]]:
    return {f"{prefix}.{name}": list(messages) for name, messages in errors.items()}


def problem_exception_handler(exc, context):
    """DRF's exception handler: every error, ours or DRF's, as one problem-details response."""
    if isinstance(exc, InvalidApplication):
        return _respond(
            400,
            gettext("The application has invalid fields."),
            "invalid-application",
            prefixed(engine_errors(exc.errors), "inputs"),
        )
    if isinstance(exc, InvalidReview):
        # The request's shape was checked by its serializer (and stated in the schema); what the service
        # still refuses depends on the decision's state, so it is a conflict, not a bad request.
        return _respond(409, gettext("The review does not fit this decision."), "invalid-review", dict(exc.errors))
    if isinstance(exc, InvalidNotice):
        return _respond(
            400, gettext("The applicant's details have invalid fields."), "invalid-notice", dict(exc.errors)
        )
    if isinstance(exc, NotFinalDecline):
        # The request is well formed; the decision's state does not call for a notice.
        return _respond(409, str(exc), "not-a-final-decline")
    if isinstance(exc, InvalidBatchFile):
        return _respond(
            400, gettext("The batch file was refused; nothing was queued."), "invalid-batch-file", dict(exc.errors)
        )
    if isinstance(exc, IdempotencyConflict):
        # A conflict with what the key already stands for (server state), not a malformed request: the same
        # body under a fresh key is accepted. 409 says so, as it does for the batch result of a running job.
        return _respond(409, str(exc), "idempotency-key-reused")
    if isinstance(exc, DuplicateApplication):
        # Nothing is wrong with the request; what it would record exists already. The same body with
        # "force": true records it again, so 409 (a conflict with stored state), not 400.
        detail = gettext('%(problem)s Send "force": true to score it again.') % {"problem": exc}
        body = problem(409, detail, kind="duplicate-application")
        body["existing"] = existing_decision(exc.existing, context.get("request"))
        return ProblemResponse(body)
    if isinstance(exc, ActivationConflict):
        # Not a refusal of the user: someone else's activation won the race; the same request may succeed.
        return _respond(409, str(exc), "activation-conflict")
    if isinstance(exc, NotAllowed):
        exc = exceptions.PermissionDenied(str(exc))
    elif isinstance(exc, ModelUnavailable):
        return _respond(503, str(exc), "model-unavailable")
    elif isinstance(exc, DatabaseError):
        # Nothing half-done leaves: the service's transaction rolled back, so no decision without its row.
        log.exception("database error during an API request")
        exc = ServiceUnavailable()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    # Imported here: rest_framework.views reads the parser setting, which names this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is None:
        log.exception("unexpected error during an API request", exc_info=exc)
        return _respond(500, gettext("An unexpected error occurred; it has been logged."))
    if isinstance(exc, exceptions.ValidationError):
        body = problem(
            response.status_code,
            gettext("The request has invalid fields."),
            kind="validation",
            errors=flatten_errors(exc.detail),
        )
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        body = problem(response.status_code, _text(detail), kind=_kind(exc))
    # DRF's handler puts WWW-Authenticate (401) and Retry-After (429) on its response; keep them.
    return ProblemResponse(body, headers={k: v for k, v in response.headers.items() if k in _KEPT_HEADERS})


_KEPT_HEADERS = frozenset({"WWW-Authenticate", "Retry-After"})


def _respond(
    status_code: int, detail: str, kind: str = "", errors: dict[str, list[str]] | None = None
) -> ProblemResponse:
    return ProblemResponse(problem(status_code, detail, kind=kind, errors=errors))


def _kind(exc) -> str:
    code = getattr(exc, "default_code", "")
    return str(code).replace("_", "-") if code and code != "error" else ""


def _text(detail) -> str:
    if isinstance(detail, list | tuple):
        return " ".join(_text(d) for d in detail)
    if isinstance(detail, dict):
        return " ".join(f"{k}: {_text(v)}" for k, v in detail.items())
    return str(detail)


class DeferredNotAcceptable(DefaultContentNegotiation):
    """A 406 only for an answer that would have succeeded; errors keep their own status.

    DRF negotiates before authentication, parsing and validation, so a client that sends
    ``Accept: application/problem+json`` (all it wants to read is an error) got a 406 in
    place of its 401 or 400. Here the request goes on with the view's first renderer and is
    marked; ``ApiProblemMiddleware`` turns a successful answer to a marked request into the
    406, and errors are problems whatever the negotiation said.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except exceptions.NotAcceptable:
            setattr(request._request, NOT_ACCEPTABLE_FLAG, True)
            return renderers[0], renderers[0].media_type


# --- strict JSON --------------------------------------------------------------------


def _reject_constant(name: str):
    raise ValueError(gettext("%(name)s is not valid JSON.") % {"name": name})


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(gettext("The number %(number)s… is too large.") % {"number": text[:20]})
    return value


def _check_tree(value, limit: int) -> str | None:
    """What is wrong with parsed JSON, or None: nesting deeper than ``limit``, NUL or lone surrogates in text.

    Databases refuse NUL and unpaired surrogates in text and JSON columns; caught here they
    are a 400 instead of a failed insert.
    """
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            if level > limit:
                return gettext("The JSON is nested deeper than %(limit)s levels.") % {"limit": limit}
            stack.extend((key, level) for key in item)
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            if level > limit:
                return gettext("The JSON is nested deeper than %(limit)s levels.") % {"limit": limit}
            stack.extend((child, level + 1) for child in item)
        elif isinstance(item, str):
            if "\x00" in item:
                return gettext("Text may not contain NUL characters.")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return gettext("Text contains an unpaired surrogate escape.")
    return None


class _Repeated(dict):
    """A parsed JSON object that gave some of its keys more than once (``repeated``)."""

    repeated: list[str]


def _object_without_repeats(pairs: list[tuple[str, object]], seen: list[bool]) -> dict:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    marked = _Repeated(obj)
    keys = [k for k, _ in pairs]
    marked.repeated = sorted({k for k in keys if keys.count(k) > 1})
    seen[0] = True
    return marked


def _repeated_keys(value, path: str = "") -> dict[str, list[str]]:
    """Each key given more than once, by its dotted path (as field errors name fields)."""
    found: dict[str, list[str]] = {}
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        children = item.items() if isinstance(item, dict) else enumerate(item) if isinstance(item, list) else ()
        for key in getattr(item, "repeated", ()):
            name = f"{where}.{key}" if where else str(key)
            found[name[:300]] = [gettext("This key is given more than once; give each key once.")]
        stack.extend((child, f"{where}.{key}" if where else str(key)) for key, child in children)
    return dict(sorted(found.items()))


class StrictJSONParser(BaseParser):
    """JSON in UTF-8 only, no NaN/Infinity, no numbers that overflow, no repeated keys, bounded size and nesting.

    Python's json module accepts NaN, Infinity and 1e400 (as inf) by default; none of
    them is a valid JSON number, and letting them through would reach the model. It also
    keeps the last of a repeated key, so `{"credit_amount": 1000, "credit_amount": 9000}`
    would be scored as 9000 while a client or proxy that reads the first one logs 1000:
    a repeated key is refused, naming it.
    """

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_BODY_BYTES
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(gettext("The request body is larger than %(limit)s bytes.") % {"limit": limit})
        charset = (parser_context or {}).get("encoding") or "utf-8"
        if media_type and "charset=" in media_type:
            charset = media_type.split("charset=", 1)[1].split(";")[0].strip().strip('"')
        if charset.lower().replace("_", "-") not in ("utf-8", "utf8"):
            raise exceptions.UnsupportedMediaType(media_type, detail=gettext("Only UTF-8 encoded JSON is accepted."))
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(gettext("The request body is larger than %(limit)s bytes.") % {"limit": limit})
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError(
                gettext("The body is not valid UTF-8 (byte %(byte)s).") % {"byte": exc.start}
            ) from exc
        repeats = [False]
        try:
            data = json.loads(
                text,
                parse_constant=_reject_constant,
                parse_float=_finite_float,
                object_pairs_hook=lambda pairs: _object_without_repeats(pairs, repeats),
            )
        except RecursionError as exc:
            raise exceptions.ParseError(gettext("The JSON is nested too deeply.")) from exc
        except ValueError as exc:
            raise exceptions.ParseError(gettext("Malformed JSON: %(error)s") % {"error": str(exc)[:200]}) from exc
        problem_text = _check_tree(data, settings.API_MAX_JSON_DEPTH)
        if problem_text:
            raise exceptions.ParseError(problem_text)
        if repeats[0]:
            raise exceptions.ValidationError(_repeated_keys(data))
        return data
