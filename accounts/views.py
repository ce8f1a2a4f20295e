"""Account pages of the signed-in user: changing their own password (Django's views, recorded in the access log)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy

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
