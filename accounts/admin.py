"""Django admin for teams, API tokens (key shown once, then only its hash; revoke, never delete) and the access log."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from accounts.models import AccessEvent, ApiToken, Team
from accounts.names import display_name
from accounts.signals import record_password_changed
from accounts.tokens import hash_key, issue_api_token, revoke_api_tokens
from scoring.admin import PersonColumn, ReadOnlyAdmin

# Keys issued in this session and not yet shown: token id -> clear key, removed when shown.
NEW_KEYS_SESSION_KEY = "creditscore_new_api_keys"


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    """Teams of officers and credit managers; user administrators (superusers) edit them."""

    list_display = ("name",)
    search_fields = ("name", "members__username")
    filter_horizontal = ("members",)


@admin.register(ApiToken)
class ApiTokenAdmin(PersonColumn, admin.ModelAdmin):
    list_display = ("prefix", "name", "person", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "user__username")
    fields = ("user", "name")
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        # An existing token is a record: only revocation (an action) changes it.
        return ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at") if obj else ()

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj) if obj else self.fields

    def save_model(self, request, obj, form, change):
        if change:
            return
        token, key = issue_api_token(user=obj.user, name=obj.name)
        obj.pk, obj.prefix, obj.key_sha256 = token.pk, token.prefix, hash_key(key)
        # Kept server-side for the one page that shows it. A message would carry it in the messages
        # cookie, which is signed but readable by anyone who sees the cookie.
        request.session[NEW_KEYS_SESSION_KEY] = request.session.get(NEW_KEYS_SESSION_KEY, {}) | {str(token.pk): key}

    def response_add(self, request, obj, post_url_continue=None):
        return HttpResponseRedirect(reverse("admin:accounts_apitoken_new_key", args=[obj.pk]))

    def get_urls(self):
        new_key = self.admin_site.admin_view(never_cache(self.new_key_view))
        return [path("<int:pk>/new-key/", new_key, name="accounts_apitoken_new_key"), *super().get_urls()]

    def new_key_view(self, request, pk: int):
        """The new token's key, once: it leaves the session as it is shown; later visits say it is gone."""
        token = self.get_object(request, str(pk))
        if token is None or not self.has_view_or_change_permission(request, token):
            return HttpResponseRedirect(reverse("admin:accounts_apitoken_changelist"))
        pending = request.session.get(NEW_KEYS_SESSION_KEY, {})
        key = pending.pop(str(pk), None)
        if key is not None:
            request.session[NEW_KEYS_SESSION_KEY] = pending
        context = self.admin_site.each_context(request) | {
            "title": gettext("API token %(prefix)s…") % {"prefix": token.prefix},
            "opts": self.opts,
            "token": token,
            "key": key,
        }
        return TemplateResponse(request, "admin/accounts/apitoken/new_key.html", context)

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead, so the audit trail keeps every token that ever existed

    @admin.action(description=_("Revoke selected tokens"))
    def revoke(self, request, queryset):
        count = revoke_api_tokens(tokens=queryset)
        self.message_user(
            request,
            ngettext("%(count)s token revoked.", "%(count)s tokens revoked.", count) % {"count": count},
        )


@admin.register(AccessEvent)
class AccessEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "person", "ip_address", "user_agent")
    list_select_related = ("user",)
    list_filter = ("kind",)
    search_fields = ("username", "ip_address")

    @admin.display(description=_("Person"), ordering="username")
    def person(self, obj):
        return display_name(obj.user, obj.username)


class AccessLoggedUserAdmin(UserAdmin):
    """Django's user admin, with a password set here (by an administrator, for any user) in the access log."""

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:  # the form was valid and saved
            changed = self.get_object(request, id)
            record_password_changed(request=request, user=changed)
        return response


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), AccessLoggedUserAdmin)
