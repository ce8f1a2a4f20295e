"""Django admin for model versions (model administrators), credit policy versions (credit policy managers)
and a read-only view of the audit tables."""

from django.contrib import admin
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts import permissions
from accounts.names import display_name
from scoring.lifecycle import admin as lifecycle_admin
from scoring.models import (
    AdverseActionNotice,
    ChallengerAssignment,
    ExportLog,
    ModelActivation,
    ModelLoad,
    ModelVersion,
    OverrideApproval,
    PolicyActivation,
    PolicyRule,
    PolicyVersion,
    Prediction,
    ReferralAssignment,
    Review,
)
from scoring.policy import admin as policy_admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Audit tables: visible to those allowed to see them, never added, changed or deleted here."""

    # Auditors and superusers only: a credit manager has admin access to approve credit policies and holds
    # view permissions for their team's decisions, which these whole-table lists would not narrow to the team.
    def has_module_permission(self, request):
        return _reads_audit_tables(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return _reads_audit_tables(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _reads_audit_tables(user) -> bool:
    return permissions.can_audit(user) or bool(user.is_active and user.is_superuser)


class PersonColumn:
    """A list column naming the row's user as every page does: full name, else username."""

    @admin.display(description=_("By"), ordering="user__username")
    def person(self, obj):
        return display_name(obj.user, gettext("the system"))


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    """Model versions: read-only rows plus the lifecycle pages (load from the Hub, validate, activate, roll back)."""

    list_display = ("id", "name", "status", "source", "hub_ref", "sha256_short", "created_at", "activated_at")
    list_filter = ("status", "source")
    readonly_fields = [
        "validation_summary",
        "comparison_summary",
        "created_by_name",
        "validated_by_name",
        "activated_by_name",
        *[f.name for f in ModelVersion._meta.fields],
    ]
    fieldsets = [
        (None, {"fields": ["name", "status", "rejection_reason", "validation_summary", "comparison_summary"]}),
        (
            _("Source"),
            {"fields": ["source", "source_uri", "hub_revision", "hub_commit", "hub_subfolder", "artifact_path"]},
        ),
        (
            _("History"),
            {
                "fields": [
                    "created_at",
                    "created_by_name",
                    "validated_at",
                    "validated_by_name",
                    "activated_at",
                    "activated_by_name",
                ]
            },
        ),
        (
            _("Raw data"),
            {"classes": ["collapse"], "fields": ["sha256", "file_hashes", "validation_report", "metadata"]},
        ),
    ]
    change_form_template = "admin/scoring/modelversion/change_form.html"
    change_list_template = "admin/scoring/modelversion/change_list.html"

    class Media:
        css = {"all": ["css/admin_lifecycle.css"]}

    @admin.display(description="sha256")
    def sha256_short(self, obj):
        return obj.sha256[:12]

    @admin.display(description=_("Hub revision"))
    def hub_ref(self, obj):
        if obj.source != ModelVersion.Source.HUB:
            return "—"
        return f"{obj.source_uri}@{obj.hub_revision} ({obj.hub_commit[:8]})"

    # People by full name, as every page shows them.
    @admin.display(description=_("Created by"))
    def created_by_name(self, obj):
        return display_name(obj.created_by, gettext("the system"))

    @admin.display(description=_("Validated by"))
    def validated_by_name(self, obj):
        return display_name(obj.validated_by, "—" if obj.validated_at is None else gettext("the system"))

    @admin.display(description=_("Activated by"))
    def activated_by_name(self, obj):
        return display_name(obj.activated_by, "—" if obj.activated_at is None else gettext("the system"))

    @admin.display(description=_("Validation report"))
    def validation_summary(self, obj):
        return lifecycle_admin.render_checks(obj)

    @admin.display(description=_("Comparison with the active version"))
    def comparison_summary(self, obj):
        return lifecycle_admin.render_comparison(obj)

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

    # Model lifecycle: the custom pages live in scoring/lifecycle/admin.py.
    def get_urls(self):
        return lifecycle_admin.urls(self) + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra = {"can_manage_models": permissions.can_manage_models(request.user)}
        return super().changelist_view(request, extra_context={**extra, **(extra_context or {})})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = lifecycle_admin.change_context(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context={**extra, **(extra_context or {})})


@admin.register(ModelLoad)
class ModelLoadAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "repo_id", "revision", "subfolder", "state", "commit", "version", "reused")
    list_filter = ("state",)

    def has_module_permission(self, request):
        return permissions.can_view_models(request.user)

    def has_view_permission(self, request, obj=None):
        return permissions.can_view_models(request.user)


@admin.register(ModelActivation)
class ModelActivationAdmin(PersonColumn, ReadOnlyAdmin):
    list_display = ("created_at", "version", "previous", "person", "note")
    list_select_related = ("version", "previous", "user")

    def has_module_permission(self, request):
        return permissions.can_view_models(request.user)

    def has_view_permission(self, request, obj=None):
        return permissions.can_view_models(request.user)


@admin.register(Prediction)
class PredictionAdmin(PersonColumn, ReadOnlyAdmin):
    list_display = ("id", "created_at", "person", "channel", "decision", "probability", "risk_band", "model_version")
    list_filter = ("decision", "channel", "risk_band")
    list_select_related = ("user", "model_version")


@admin.register(Review)
class ReviewAdmin(PersonColumn, ReadOnlyAdmin):
    list_display = ("id", "created_at", "prediction", "person", "outcome", "overridden", "needs_approval")
    list_select_related = ("prediction", "user")


@admin.register(OverrideApproval)
class OverrideApprovalAdmin(PersonColumn, ReadOnlyAdmin):
    list_display = ("id", "created_at", "review", "person", "approved")
    list_select_related = ("review", "user")


@admin.register(ReferralAssignment)
class ReferralAssignmentAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "prediction", "assignee")


@admin.register(AdverseActionNotice)
class AdverseActionNoticeAdmin(PersonColumn, ReadOnlyAdmin):
    list_display = ("id", "created_at", "prediction", "person", "sha256")
    list_select_related = ("user",)
    exclude = ("body_html",)  # the notice as issued is read on its own page, not as markup here


# --- Audit exports ---------------------------------------------------


@admin.register(ExportLog)
class ExportLogAdmin(PersonColumn, ReadOnlyAdmin):
    list_display = ("created_at", "person", "row_count", "filters")
    list_select_related = ("user",)


# --- Credit policy: the editor and lifecycle pages live in scoring/policy/admin.py -------------

admin.site.register(PolicyVersion, policy_admin.PolicyVersionAdmin)
admin.site.register(PolicyRule, policy_admin.PolicyRuleAdmin)
admin.site.register(PolicyActivation, policy_admin.PolicyActivationAdmin)


@admin.register(ChallengerAssignment)
class ChallengerAssignmentAdmin(PersonColumn, ReadOnlyAdmin):
    """Every start and stop of a shadow challenger, as recorded (append-only), beside the activations."""

    list_display = ("created_at", "action", "version", "person", "note")
    list_filter = ("action",)
    list_select_related = ("version", "user")

    def has_module_permission(self, request):
        return permissions.can_view_models(request.user)

    def has_view_permission(self, request, obj=None):
        return permissions.can_view_models(request.user)
