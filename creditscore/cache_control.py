"""Responses that carry decisions are never kept by a browser or a proxy: ``Cache-Control: no-store, private``."""

from __future__ import annotations

NO_STORE = "no-store, private"


class NoStoreMiddleware:
    """Every response of the app's own views says ``no-store, private`` unless the view chose its own policy.

    Almost every page and download shows decisions, applicants' data or audit records, and the API
    authenticates by token inside the view, after middleware could tell who is asking: so the rule is
    for every response rather than a list of pages someone must remember to extend. Static files are
    served by WhiteNoise before this middleware and keep their long-lived caching.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = NO_STORE
        return response
