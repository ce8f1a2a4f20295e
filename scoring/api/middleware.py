"""Under /api/, every error leaves as problem+json whichever layer answered; over-long request lines get a 414.

DRF's views answer their own errors as problems (``problems.problem_exception_handler``),
but middleware (the read-only role check, Django's own 400/403/404/413/500 handlers) answers
before or after them with HTML. This middleware turns any such answer under /api/ into a
problem document with the same status, so a client needs one error parser.

gunicorn is told not to limit the request line (``limit_request_line = 0`` in
gunicorn.conf.py): its own 414 is an HTML page that no API client can read. The limit is
kept here instead, as ``MAX_REQUEST_LINE_BYTES``.
"""

from __future__ import annotations

from http import HTTPStatus

from django.conf import settings
from django.http import HttpResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from scoring.api.problems import NOT_ACCEPTABLE_FLAG, PROBLEM_CONTENT_TYPE, problem_response

API_PREFIX = "/api/"
# What a client reads when a layer other than the API's views answered.
_DETAILS = {
    400: _("The request could not be read."),
    403: _("Your role does not allow this."),
    404: _("There is no API endpoint at this address; see /api/v1/docs/."),
    413: _("The request body is too large."),
    500: _("An unexpected error occurred; it has been logged."),
}


class ApiProblemMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        is_api = request.path_info.startswith(API_PREFIX)
        limit = settings.MAX_REQUEST_LINE_BYTES
        length = len(request.get_full_path().encode())
        if length > limit:
            detail = gettext(
                "The request target is %(length)s bytes long; the limit is %(limit)s. "
                "Send fewer or shorter query parameters."
            ) % {"length": length, "limit": limit}
            if is_api:
                return problem_response(414, detail)
            return HttpResponse(detail, status=414, content_type="text/plain; charset=utf-8")
        response = self.get_response(request)
        if not is_api:
            return response
        status = response.status_code
        if getattr(request, NOT_ACCEPTABLE_FLAG, False) and 200 <= status < 300:
            return problem_response(
                406,
                gettext("The response is not available in any media type the Accept header lists."),
                kind="not-acceptable",
            )
        if status >= 400 and not response.get("Content-Type", "").startswith(PROBLEM_CONTENT_TYPE):
            replaced = problem_response(status, str(_DETAILS.get(status, HTTPStatus(status).description)))
            for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                if header in response:
                    replaced[header] = response[header]
            return replaced
        return response
