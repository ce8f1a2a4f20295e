"""Django admin of the credit policy: versions, rules with their conditions, the activation timeline.

The pages that check, submit, withdraw, activate (four eyes), copy, export and import a version are in
admin_pages.

Registered from scoring/admin.py. Every page asks accounts.permissions; a version's rules are editable only
while it is a draft, so a frozen version shows read-only pages instead of failing on save.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts import permissions
from accounts.names import display_name
from scoring.models import PolicyActivation, PolicyCondition, PolicyIsFrozen, PolicyRule, PolicyVersion
from scoring.policy import admin_pages, forms, presentation

# --- Versions ---------------------------------------------------------


class PolicyVersionAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "id",
        "status",
        "rule_count",
        "checked",
        "submitted_by_name",
        "activated_at",
        "activated_by_name",
    )
    list_display_links = ("name",)
    list_filter = ("status",)
    search_fields = ("name",)
    actions = None
    readonly_fields = [
        "status",
        "created_at",
        "created_by_name",
        "checked",
        "submitted_at",
        "submitted_by_name",
        "activated_at",
        "activated_by_name",
    ]
    change_form_template = "admin/scoring/policyversion/change_form.html"
    change_list_template = "admin/scoring/policyversion/change_list.html"

    class Media:
        css = {"all": ["css/admin_lifecycle.css"]}

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(rule_count=Count("rules"))
            .select_related("created_by", "submitted_by", "activated_by", "checked_against")
        )

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ["name", "description"]})]
        history = ["created_at", "created_by_name", "checked", "submitted_at", "submitted_by_name"]
        history += ["activated_at", "activated_by_name"]
        return [(None, {"fields": ["name", "description", "status"]}), (_("History"), {"fields": history})]

    @admin.display(description=_("Rules"), ordering="rule_count")
    def rule_count(self, obj):
        return obj.rule_count

    @admin.display(description=_("Checked against the model"))
    def checked(self, obj):
        if obj.checked_at is None:
            return gettext("Not checked yet")
        when = date_format(timezone.localtime(obj.checked_at), "DATETIME_FORMAT")
        return gettext("%(when)s against %(model)s") % {
            "when": when,
            "model": obj.checked_against or gettext("a model no longer known"),
        }

    @admin.display(description=_("Created by"))
    def created_by_name(self, obj):
        return display_name(obj.created_by, gettext("the system"))

    @admin.display(description=_("Submitted by"))
    def submitted_by_name(self, obj):
        return display_name(obj.submitted_by, "—")

    @admin.display(description=_("Activated by"))
    def activated_by_name(self, obj):
        return display_name(obj.activated_by, "—" if obj.activated_at is None else gettext("the system"))

    def has_module_permission(self, request):
        return permissions.can_view_policies(request.user)

    def has_view_permission(self, request, obj=None):
        return permissions.can_view_policies(request.user)

    def has_add_permission(self, request):
        return permissions.can_edit_policies(request.user)

    def has_change_permission(self, request, obj=None):
        return permissions.can_edit_policies(request.user) and (obj is None or obj.is_draft)

    def has_delete_permission(self, request, obj=None):
        return False  # versions are history: a draft no one wants is simply never submitted

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def response_post_save_add(self, request, obj):
        return redirect(admin_pages.version_url(obj))  # a new draft's next step is its rules, on its own page

    def get_urls(self):
        return admin_pages.urls(self) + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra = {"can_edit_policies": permissions.can_edit_policies(request.user)}
        return super().changelist_view(request, extra_context={**extra, **(extra_context or {})})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = change_context(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context={**extra, **(extra_context or {})})


def change_context(request, object_id) -> dict:
    """What the version page shows beside its fields: its rules in words, its buttons, its activations."""
    version = PolicyVersion.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
    if version is None:
        return {}
    user = request.user
    can_edit = permissions.can_edit_policies(user)
    status = PolicyVersion.Status
    return {
        "rule_rows": presentation.rule_rows(version),
        "is_draft": version.is_draft,
        "can_edit_policies": can_edit,
        "can_edit_rules": can_edit and version.is_draft,
        "can_submit": can_edit and version.is_draft,
        "can_withdraw": can_edit and version.status == status.SUBMITTED,
        "can_activate": permissions.can_activate_policies(user) and version.status == status.SUBMITTED,
        # Four eyes, said before the click; the service refuses it anyway.
        "activation_is_own": user.pk in {version.created_by_id, version.submitted_by_id},
        "simulate_url": _simulate_url(version) if user.has_perm("scoring.simulate_policyversion") else None,
        "activations": list(
            PolicyActivation.objects.filter(version=version).select_related("previous", "user", "requested_by")
        ),
    }


def _simulate_url(version: PolicyVersion) -> str | None:
    """The simulation request page, when this build has it."""
    try:
        return reverse("scoring:policy-simulate", args=[version.pk])
    except NoReverseMatch:
        return None


# --- Rules and their conditions ------------------------------------------


def _rule_editable(request, rule: PolicyRule | None) -> bool:
    return permissions.can_edit_policies(request.user) and (rule is None or rule.version.is_draft)


class PolicyConditionInline(admin.TabularInline):
    model = PolicyCondition
    form = forms.ConditionForm
    formset = forms.ConditionFormSet
    extra = 1
    verbose_name = _("condition (all must hold for the rule to fire)")
    verbose_name_plural = _("conditions (all must hold for the rule to fire)")

    def has_view_permission(self, request, obj=None):
        return permissions.can_view_policies(request.user)

    def has_add_permission(self, request, obj=None):
        return _rule_editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return _rule_editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _rule_editable(request, obj)


class PolicyRuleAdmin(admin.ModelAdmin):
    form = forms.RuleForm
    inlines = [PolicyConditionInline]
    list_display = ("code", "name", "version", "position", "outcome", "stage")
    list_select_related = ("version",)
    list_filter = ("version__status",)
    search_fields = ("code", "name", "version__name")
    actions = None  # a bulk delete would bypass the draft check of each rule
    fields = ["version", "position", "code", "name", "statement", "statement_fr", "outcome", "stage", "legal_basis"]

    def get_readonly_fields(self, request, obj=None):
        return ["version"] if obj is not None else []

    def has_module_permission(self, request):
        return permissions.can_view_policies(request.user)

    def has_view_permission(self, request, obj=None):
        return permissions.can_view_policies(request.user)

    def has_add_permission(self, request):
        return permissions.can_edit_policies(request.user)

    def has_change_permission(self, request, obj=None):
        return _rule_editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _rule_editable(request, obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except PolicyIsFrozen as exc:  # the version was submitted between the page and the save
            messages.error(request, str(exc))
            rule = PolicyRule.objects.filter(pk=object_id).select_related("version").first() if object_id else None
            if rule is None:
                return redirect(reverse("admin:scoring_policyversion_changelist"))
            return redirect(admin_pages.version_url(rule.version))

    def delete_view(self, request, object_id, extra_context=None):
        rule = PolicyRule.objects.filter(pk=object_id).select_related("version").first()
        try:
            response = super().delete_view(request, object_id, extra_context)
        except PolicyIsFrozen as exc:
            messages.error(request, str(exc))
            response = None
        if rule is not None and (response is None or (request.method == "POST" and response.status_code == 302)):
            return redirect(admin_pages.version_url(rule.version))  # back to the version the rule belonged to
        return response or redirect(reverse("admin:scoring_policyversion_changelist"))

    # After a save, back to the version's page, where the rules are read as a whole.
    def response_post_save_add(self, request, obj):
        return redirect(admin_pages.version_url(obj.version))

    def response_post_save_change(self, request, obj):
        return redirect(admin_pages.version_url(obj.version))


# --- The activation timeline --------------------------------------------


class PolicyActivationAdmin(admin.ModelAdmin):
    """Append-only: which version went live, replacing which, asked by whom, approved by whom."""

    list_display = ("created_at", "version", "previous", "requested_by_name", "approved_by_name", "note")
    list_select_related = ("version", "previous", "requested_by", "user")
    actions = None

    @admin.display(description=_("Submitted by"))
    def requested_by_name(self, obj):
        return display_name(obj.requested_by, "—")

    @admin.display(description=_("Approved and activated by"))
    def approved_by_name(self, obj):
        return display_name(obj.user, gettext("the system"))

    def has_module_permission(self, request):
        return permissions.can_view_policies(request.user)

    def has_view_permission(self, request, obj=None):
        return permissions.can_view_policies(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
