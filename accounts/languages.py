"""Which language a request is answered in: the user's profile, else the browser's Accept-Language, else English.

Pages: Django's LocaleMiddleware has picked the language cookie (set by the switcher for anonymous pages such
as login) or Accept-Language; for a signed-in user whose profile names a language, this middleware
activates it instead. API (``/api/``): an Accept-Language header wins over everything (a client asks for
the language of the texts it shows); without one, the token user's profile language (scoring/api/base.py),
else English. Every answer says its language (Content-Language) and that it depends on Accept-Language.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_vary_headers

API_PREFIX = "/api/"
# The signed-in user's profile language, kept in their session so a page costs no query for it:
# the language code, or "" for "the browser's". Set on the first page after login and when it changes.
SESSION_KEY = "creditscore_language"


def supported(code: str | None) -> str | None:
    """The configured language for a code ("fr-CA" -> "fr"), or None when the app has none for it."""
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(code.strip().lower())
    except LookupError:
        return None


def from_accept_language(header: str) -> str | None:
    """The first supported language of an Accept-Language header, by quality; None when none is supported."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:20]):
        code, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if code and code != "*" and quality > 0:
            ranked.append((-quality, position, code))
    for _, _, code in sorted(ranked):
        language = supported(code)
        if language:
            return language
    return None


def profile_language(user) -> str | None:
    """The language a signed-in user chose on their profile, or None (no profile, or browser's language)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    cached = getattr(user, "_profile_language", False)
    if cached is not False:
        return cached
    from accounts.models import Profile  # the app registry is ready by the first request

    language = supported(Profile.objects.filter(user_id=user.pk).values_list("language", flat=True).first())
    user._profile_language = language
    return language


def activate(request, language: str) -> None:
    translation.activate(language)
    request.LANGUAGE_CODE = language


def _session_language(request) -> str | None:
    user = getattr(request, "user", None)
    session = getattr(request, "session", None)
    if user is None or not user.is_authenticated or session is None:
        return None
    if SESSION_KEY not in session:
        session[SESSION_KEY] = profile_language(user) or ""
    return supported(session[SESSION_KEY])


def remember_in_session(request, language: str | None) -> None:
    """After the profile's language changed: the session's copy follows."""
    if getattr(request, "session", None) is not None:
        request.session[SESSION_KEY] = language or ""


class UserLanguageMiddleware:
    """After authentication: the profile language for pages, Accept-Language first for the API."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(API_PREFIX):
            header = request.headers.get("Accept-Language", "")
            # The cookie the switcher sets is for pages; an API client's header, or English, decides here.
            activate(request, from_accept_language(header) or settings.LANGUAGE_CODE)
        else:
            language = _session_language(request)
            if language:
                activate(request, language)
        response = self.get_response(request)
        response.headers["Content-Language"] = translation.get_language() or settings.LANGUAGE_CODE
        patch_vary_headers(response, ("Accept-Language",))
        return response
