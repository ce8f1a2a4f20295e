"""The base of every API v1 view: query parameters the view does not take are refused, like unknown body fields.

Texts (problem titles and details, reason statements) are in the language of the request's Accept-Language
header; without one, in the authenticated user's profile language, else English (accounts/languages.py).
"""

from __future__ import annotations

from django.utils.translation import gettext
from rest_framework.exceptions import ValidationError
from rest_framework.views import APIView

from accounts.languages import activate, profile_language


class KnownQueryParameters:
    """Mixin for a DRF view: a query parameter not in ``query_parameters`` is a 400 naming it."""

    # Names of the query parameters the view reads (and its schema declares).
    query_parameters: frozenset[str] = frozenset()

    def initial(self, request, *args, **kwargs):
        # After authentication and permissions: an anonymous client learns it needs a token first.
        super().initial(request, *args, **kwargs)
        unknown = sorted(set(request.query_params) - self.query_parameters)
        if unknown:
            raise ValidationError({name[:100]: [gettext("Unknown query parameter.")] for name in unknown})


class ProfileLanguage:
    """Mixin for a DRF view: without an Accept-Language header, the token user's profile language."""

    def perform_authentication(self, request):
        super().perform_authentication(request)
        if not request.headers.get("Accept-Language"):
            language = profile_language(request.user)
            if language:
                activate(request, language)


class ApiView(ProfileLanguage, KnownQueryParameters, APIView):
    pass
