"""Django admin for API tokens (key shown once, then only its hash is kept; revoke, never delete) and the access log."""

from django.contrib import admin, messages

from accounts.models import AccessEvent, ApiToken
from accounts.tokens import hash_key, issue_api_token, revoke_api_tokens
from scoring.admin import ReadOnlyAdmin


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "name", "user", "created_at", "last_used_at", "revoked_at")
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
        messages.warning(
            request, f"The new key is {key} — copy it now: it is stored only as a hash and not shown again."
        )

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead, so the audit trail keeps every token that ever existed

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        count = revoke_api_tokens(tokens=queryset)
        self.message_user(request, f"{count} token(s) revoked.")


@admin.register(AccessEvent)
class AccessEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "username", "ip_address", "user_agent")
    list_filter = ("kind",)
    search_fields = ("username", "ip_address")
