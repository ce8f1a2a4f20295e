"""The base of every API v1 view: query parameters the view does not take are refused, like unknown body fields."""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.views import APIView


class KnownQueryParameters:
    """Mixin for a DRF view: a query parameter not in ``query_parameters`` is a 400 naming it."""

    # Names of the query parameters the view reads (and its schema declares).
    query_parameters: frozenset[str] = frozenset()

    def initial(self, request, *args, **kwargs):
        # After authentication and permissions: an anonymous client learns it needs a token first.
        super().initial(request, *args, **kwargs)
        unknown = sorted(set(request.query_params) - self.query_parameters)
        if unknown:
            raise ValidationError({name[:100]: ["Unknown query parameter."] for name in unknown})


class ApiView(KnownQueryParameters, APIView):
    pass
