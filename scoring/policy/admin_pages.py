"""Credit policy pages in Django admin: check, submit, withdraw, approve and activate (four eyes), copy,
export and import a version. Thin: each parses the request, calls one service and reports its outcome."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from accounts import permissions
from scoring.engine.policy import PolicyRejected
from scoring.exceptions import ModelUnavailable, NotAllowed
from scoring.files import uploads
from scoring.models import PolicyVersion
from scoring.policy import forms, services


def version_url(version: PolicyVersion) -> str:
    return reverse("admin:scoring_policyversion_change", args=[version.pk])


def urls(model_admin) -> list:
    site = model_admin.admin_site
    return [
        path("import/", site.admin_view(_import_page(model_admin)), name="scoring_policyversion_import"),
        path("<int:pk>/check/", site.admin_view(check_view), name="scoring_policyversion_check"),
        path("<int:pk>/submit/", site.admin_view(submit_view), name="scoring_policyversion_submit"),
        path("<int:pk>/withdraw/", site.admin_view(withdraw_view), name="scoring_policyversion_withdraw"),
        path("<int:pk>/activate/", site.admin_view(activate_view), name="scoring_policyversion_activate"),
        path("<int:pk>/copy/", site.admin_view(copy_view), name="scoring_policyversion_copy"),
        path("<int:pk>/export/", site.admin_view(export_view), name="scoring_policyversion_export"),
    ]


def _require(check, request) -> None:
    if not check(request.user):
        raise PermissionDenied


def _report_problems(request, errors) -> None:
    for key, problems in errors.items():
        where = gettext("The policy") if key == "policy" else gettext("Rule %(code)s") % {"code": key}
        for problem in problems:
            messages.error(request, gettext("%(where)s: %(problem)s") % {"where": where, "problem": problem})


@require_POST
def check_view(request, pk: int):
    _require(permissions.can_edit_policies, request)
    version = get_object_or_404(PolicyVersion, pk=pk)
    try:
        model, model_version = forms.active_model()
    except ModelUnavailable:
        messages.error(request, forms.NO_ACTIVE_MODEL)
        return redirect(version_url(version))
    found = services.check_version(version, model=model, model_version=model_version)
    if found:
        _report_problems(request, found)
    else:
        messages.success(
            request,
            gettext("Every rule of %(version)s fits the active model, %(model)s.")
            % {"version": version.label, "model": model_version},
        )
    return redirect(version_url(version))


@require_POST
def submit_view(request, pk: int):
    _require(permissions.can_edit_policies, request)
    version = get_object_or_404(PolicyVersion, pk=pk)
    try:
        model, model_version = forms.active_model()
        services.submit(version, user=request.user, model=model, model_version=model_version)
    except ModelUnavailable:
        messages.error(request, forms.NO_ACTIVE_MODEL)
    except NotAllowed as exc:
        messages.error(request, str(exc))
    except PolicyRejected as exc:
        _report_problems(request, exc.errors)
    else:
        messages.success(
            request,
            gettext(
                "%(version)s is submitted: another credit policy manager or a credit manager approves and activates it."
            )
            % {"version": version.label},
        )
    return redirect(version_url(version))


@require_POST
def withdraw_view(request, pk: int):
    _require(permissions.can_edit_policies, request)
    version = get_object_or_404(PolicyVersion, pk=pk)
    try:
        services.withdraw(version, user=request.user)
    except NotAllowed as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, gettext("%(version)s is a draft again: its rules can be changed.") % {"version": version.label}
        )
    return redirect(version_url(version))


@require_POST
def activate_view(request, pk: int):
    _require(permissions.can_activate_policies, request)
    version = get_object_or_404(PolicyVersion, pk=pk)
    try:
        model, _ = forms.active_model()
        services.activate(version, user=request.user, model=model, note="admin")
    except ModelUnavailable:
        messages.error(request, forms.NO_ACTIVE_MODEL)
    except NotAllowed as exc:  # includes ActivationConflict, whose message says what happened
        messages.error(request, str(exc) or gettext("Another activation happened at the same time; nothing changed."))
    except PolicyRejected as exc:
        _report_problems(request, exc.errors)
    else:
        messages.success(
            request,
            gettext("%(version)s is now the live credit policy; every process switches within seconds.")
            % {"version": version.label},
        )
    return redirect(version_url(version))


@require_POST
def copy_view(request, pk: int):
    _require(permissions.can_edit_policies, request)
    version = get_object_or_404(PolicyVersion, pk=pk)
    copy = services.copy_to_draft(version, user=request.user)
    messages.success(
        request,
        gettext("%(copy)s is a new draft with the rules of %(version)s.")
        % {"copy": copy.label, "version": version.label},
    )
    return redirect(version_url(copy))


def export_view(request, pk: int):
    _require(permissions.can_view_policies, request)
    version = get_object_or_404(PolicyVersion, pk=pk)
    body = json.dumps(services.export_jdm(version), indent=2, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="policy-{version.pk}.json"'
    return response


def _import_page(model_admin):
    """The import view with its upload limit declared (checked before the body is read)."""

    def refuse(request, refusal: uploads.Refusal):
        if not permissions.can_edit_policies(request.user):
            return HttpResponse(refusal.message, status=refusal.status, content_type="text/plain; charset=utf-8")
        return _render_import(request, model_admin, forms.ImportForm(), status=refusal.status, refused=refusal.message)

    @uploads.upload_limit(uploads.UploadLimit(setting="POLICY_IMPORT_MAX_BYTES", refuse=refuse))
    def view(request):
        return import_view(request, model_admin)

    return view


def import_view(request, model_admin):
    _require(permissions.can_edit_policies, request)
    if request.method != "POST":
        return _render_import(request, model_admin, forms.ImportForm())
    stopped = uploads.refusal(request)
    if stopped is not None:
        return _render_import(request, model_admin, forms.ImportForm(), status=stopped.status, refused=stopped.message)
    form = forms.ImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            model, _ = forms.active_model()
            version = services.import_jdm(
                form.cleaned_data["file"], name=form.cleaned_data["name"], user=request.user, model=model
            )
        except ModelUnavailable:
            form.add_error(None, forms.NO_ACTIVE_MODEL)
        except PolicyRejected as exc:
            for key, problems in exc.errors.items():
                where = gettext("The decision model") if key == "policy" else gettext("Rule %(code)s") % {"code": key}
                form.add_error(
                    "file",
                    [gettext("%(where)s: %(problem)s") % {"where": where, "problem": problem} for problem in problems],
                )
        else:
            messages.success(
                request,
                gettext("Imported as %(version)s, a draft: check, simulate and submit it.")
                % {"version": version.label},
            )
            return redirect(version_url(version))
    return _render_import(request, model_admin, form, status=400)


def _render_import(request, model_admin, form, *, status: int = 200, refused: str = ""):
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": PolicyVersion._meta,
        "title": gettext("Import a ZEN decision model"),
        "form": form,
        "refused": refused,  # an upload stopped before its form could be read
        "max_size": uploads.megabytes(settings.POLICY_IMPORT_MAX_BYTES),
        "media": model_admin.media,
    }
    return TemplateResponse(request, "admin/scoring/policyversion/import.html", context, status=status)
