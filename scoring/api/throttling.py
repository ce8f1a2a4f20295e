"""Per-user (and per-address for anonymous clients) request rates, read from settings at request time."""

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class UserThrottle(UserRateThrottle):
    """Authenticated clients: API_THROTTLE_USER_RATE per user, whatever token or session they use."""

    def get_rate(self):
        return settings.API_THROTTLE_USER_RATE

    def allow_request(self, request, view):
        # Re-read the rate each time so a settings change (or a test override) applies at once.
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)


class AnonThrottle(AnonRateThrottle):
    """Unauthenticated requests (which all fail with 401): API_THROTTLE_ANON_RATE per client address."""

    def get_rate(self):
        return settings.API_THROTTLE_ANON_RATE

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)
