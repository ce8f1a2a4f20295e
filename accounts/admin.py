"""Django admin for the access log: read-only, like every audit table."""

from django.contrib import admin

from accounts.models import AccessEvent
from scoring.admin import ReadOnlyAdmin


@admin.register(AccessEvent)
class AccessEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "username", "ip_address", "user_agent")
    list_filter = ("kind",)
    search_fields = ("username", "ip_address")
