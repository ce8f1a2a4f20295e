"""Django admin for model versions (model administrators) and a read-only view of the audit tables."""

from django.contrib import admin

from accounts import permissions
from scoring.models import ExportLog, ModelActivation, ModelVersion, Prediction, Review


class ReadOnlyAdmin(admin.ModelAdmin):
    """Audit tables: visible to those allowed to see them, never added, changed or deleted here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "status", "source", "sha256_short", "created_at", "activated_at")
    list_filter = ("status", "source")
    readonly_fields = [f.name for f in ModelVersion._meta.fields]

    @admin.display(description="sha256")
    def sha256_short(self, obj):
        return obj.sha256[:12]

    def has_module_permission(self, request):
        return permissions.can_view_models(request.user)

    def has_view_permission(self, request, obj=None):
        return permissions.can_view_models(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ModelActivation)
class ModelActivationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "version", "previous", "user", "note")


@admin.register(Prediction)
class PredictionAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "user", "channel", "decision", "probability", "risk_band", "model_version")
    list_filter = ("decision", "channel", "risk_band")
    list_select_related = ("user", "model_version")


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "prediction", "user", "outcome", "overridden")


# --- Audit exports (issue #5) ---------------------------------------------------


@admin.register(ExportLog)
class ExportLogAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "user", "row_count", "filters")
    list_select_related = ("user",)
