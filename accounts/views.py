"""Account pages of the signed-in user: their profile and language, and changing their own password.

The password views are Django's, recorded in the access log.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.forms import LanguageForm, ProfileForm
from accounts.languages import remember_in_session
from accounts.models import Profile
from accounts.signals import record_password_changed


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's form (old password, new one twice, AUTH_PASSWORD_VALIDATORS); it keeps the session signed in."""

    template_name = "registration/password_change.html"
    success_url = reverse_lazy("password_change_done")

    def form_valid(self, form):
        response = super().form_valid(form)
        record_password_changed(request=self.request, user=form.user)
        return response


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "registration/password_changed.html"


def _remember(response, language: str) -> None:
    """The language cookie, so pages before signing in (login) keep the language chosen."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
    )


@login_required
def profile_view(request):
    """The user's name and roles, and the language of their pages."""
    profile, _created = Profile.objects.get_or_create(user=request.user)
    form = ProfileForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        profile = form.save()
        remember_in_session(request, profile.language)
        language = profile.language or translation.get_language_from_request(request)
        translation.activate(language)
        messages.success(request, _("Your language is saved."))
        response = HttpResponseRedirect(reverse("accounts:profile"))
        if profile.language:
            _remember(response, profile.language)
        else:
            response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
        return response
    # Name and roles come from the page context (accounts.context_processors.navigation: nav_roles).
    return render(request, "accounts/profile.html", {"form": form})


@require_POST
def language_view(request):
    """The top bar's switcher: the profile's language when signed in, the cookie always; then back safely."""
    form = LanguageForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Choose one of the languages offered."), content_type="text/plain")
    language = form.cleaned_data["language"]
    if request.user.is_authenticated:
        Profile.objects.update_or_create(user=request.user, defaults={"language": language})
        remember_in_session(request, language)
    target = form.cleaned_data["next"] or request.headers.get("Referer", "")
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    response = HttpResponseRedirect(target if safe else reverse("scoring:home"))
    _remember(response, language)
    return response
