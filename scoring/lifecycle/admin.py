"""Django admin pages of the model lifecycle: load from the Hub, validate, activate, roll back, readable reports."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts import permissions
from scoring.exceptions import BundleRejected, NotAllowed
from scoring.lifecycle import challengers, loads, versions
from scoring.models import ChallengerAssignment, ModelLoad, ModelVersion


class HubLoadForm(forms.Form):
    repo_id = forms.CharField(
        label=_("Repository"), max_length=200, help_text=_("owner/name on the Hub, for example acme/credit-model.")
    )
    revision = forms.CharField(
        max_length=200,
        initial="main",
        help_text=_("Branch, tag or commit sha. A branch is pinned to its current commit."),
    )
    subfolder = forms.CharField(max_length=200, required=False, help_text=_("Folder holding MLmodel and model.cb."))


def urls(model_admin) -> list:
    site = model_admin.admin_site

    def wrap(view):
        return site.admin_view(view)

    return [
        path("load/", wrap(lambda r: load_view(r, model_admin)), name="scoring_modelversion_load"),
        path("load/status/", wrap(load_status_view), name="scoring_modelversion_load_status"),
        path("<int:pk>/validate/", wrap(validate_view), name="scoring_modelversion_validate"),
        path("<int:pk>/activate/", wrap(activate_view), name="scoring_modelversion_activate"),
        path("<int:pk>/rollback/", wrap(rollback_view), name="scoring_modelversion_rollback"),
        path("<int:pk>/challenger/start/", wrap(start_challenger_view), name="scoring_modelversion_challenger_start"),
        path("<int:pk>/challenger/stop/", wrap(stop_challenger_view), name="scoring_modelversion_challenger_stop"),
    ]


def _require_manager(request) -> None:
    if not permissions.can_manage_models(request.user):
        raise PermissionDenied


def load_view(request, model_admin):
    _require_manager(request)
    form = HubLoadForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            load = loads.request_load(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            load.refresh_from_db()
            _report_load(request, load)
            return redirect(reverse("admin:scoring_modelversion_load"))
    recent = list(_recent_loads())
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": ModelVersion._meta,
        "title": gettext("Load a model from the Hugging Face Hub"),
        "form": form,
        "loads": recent,
        "loads_running": any(load.state in _UNFINISHED for load in recent),
        "media": model_admin.media,
    }
    return TemplateResponse(request, "admin/scoring/modelversion/load.html", context)


_UNFINISHED = (ModelLoad.State.QUEUED, ModelLoad.State.RUNNING)


def _recent_loads():
    return ModelLoad.objects.select_related("version", "requested_by")[:20]


def load_status_view(request):
    """Where the recent loads stand, for the load page to follow a running one without a manual refresh."""
    _require_manager(request)
    recent = list(_recent_loads())
    return JsonResponse(
        {
            "running": any(load.state in _UNFINISHED for load in recent),
            "loads": [
                {
                    "id": load.pk,
                    "repo_id": load.repo_id,
                    "revision": load.revision,
                    "state": load.state,
                    "state_display": load.get_state_display(),
                    "finished": load.state not in _UNFINISHED,
                    "version": load.version_id,
                    "version_status": load.version.status if load.version else None,
                    "error": load.error,
                }
                for load in recent
            ],
        }
    )


def _report_load(request, load: ModelLoad) -> None:
    source = f"{load.repo_id}@{load.revision}"
    if load.state == ModelLoad.State.FAILED:
        messages.error(
            request,
            gettext("Load of %(source)s failed: %(error)s") % {"source": source, "error": load.error},
        )
    elif load.state == ModelLoad.State.DONE and load.version:
        words = {"source": source, "version": load.version, "status": load.version.get_status_display()}
        if load.reused:
            text = gettext("%(source)s was already loaded as %(version)s: %(status)s") % words
        else:
            text = gettext("%(source)s loaded as %(version)s: %(status)s") % words
        level = messages.WARNING if load.version.status == ModelVersion.Status.REJECTED else messages.SUCCESS
        messages.add_message(request, level, text)
    else:
        messages.info(
            request,
            gettext("Load of %(source)s queued; this page shows its result when it ends.") % {"source": source},
        )


def _version_url(version: ModelVersion) -> str:
    return reverse("admin:scoring_modelversion_change", args=[version.pk])


@require_POST
def validate_view(request, pk: int):
    _require_manager(request)
    version = get_object_or_404(ModelVersion, pk=pk)
    version = versions.validate_version(version=version, user=request.user)
    if version.status == ModelVersion.Status.REJECTED:
        messages.error(
            request,
            gettext("%(version)s is rejected: %(reason)s") % {"version": version, "reason": version.rejection_reason},
        )
    else:
        messages.success(request, gettext("%(version)s passed every check.") % {"version": version})
    return redirect(_version_url(version))


@require_POST
def activate_view(request, pk: int):
    _require_manager(request)
    version = get_object_or_404(ModelVersion, pk=pk)
    try:
        versions.activate(version=version, user=request.user, note="admin")
    except (BundleRejected, NotAllowed) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            gettext("%(version)s is now active; every process switches within a second or two.") % {"version": version},
        )
    return redirect(_version_url(version))


@require_POST
def rollback_view(request, pk: int):
    _require_manager(request)
    version = get_object_or_404(ModelVersion, pk=pk)
    if version.status != ModelVersion.Status.ACTIVE:
        messages.error(
            request,
            gettext("%(version)s is not active: only the active version can be rolled back.") % {"version": version},
        )
        return redirect(_version_url(version))
    try:
        activation = versions.roll_back(user=request.user, current=version)
    except (BundleRejected, NotAllowed) as exc:
        messages.error(request, str(exc))
        return redirect(_version_url(version))
    messages.success(request, gettext("Rolled back: %(version)s is active again.") % {"version": activation.version})
    return redirect(_version_url(activation.version))


@require_POST
def start_challenger_view(request, pk: int):
    """Start shadow scoring with this version: one model administrator is enough, as no decision changes."""
    _require_manager(request)
    version = get_object_or_404(ModelVersion, pk=pk)
    try:
        challengers.start_challenger(version=version, user=request.user, note="admin")
    except (BundleRejected, NotAllowed) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("%(version)s now scores every live decision in shadow; decisions stay the champion's.")
            % {"version": version},
        )
    return redirect(_version_url(version))


@require_POST
def stop_challenger_view(request, pk: int):
    _require_manager(request)
    version = get_object_or_404(ModelVersion, pk=pk)
    try:
        challengers.stop_challenger(user=request.user, version=version, note="admin")
    except NotAllowed as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("%(version)s no longer scores in shadow; its scores are kept.") % {"version": version}
        )
    return redirect(_version_url(version))


def change_context(request, object_id) -> dict:
    """What the version page needs to show its lifecycle buttons."""
    version = ModelVersion.objects.filter(pk=object_id).first()
    if version is None:
        return {}
    previous = versions.rollback_target() if version.status == ModelVersion.Status.ACTIVE else None
    return {
        "can_manage_models": permissions.can_manage_models(request.user),
        "can_activate": version.status in (ModelVersion.Status.VALIDATED, ModelVersion.Status.RETIRED),
        "can_validate": version.status != ModelVersion.Status.REJECTED,
        "rollback_to": previous,
        "is_challenger": ChallengerAssignment.objects.current_version_id() == version.pk,
        "can_be_challenger": version.status in challengers.CHALLENGER_STATUSES,
    }


def render_checks(version: ModelVersion):
    report = version.validation_report or {}
    checks = report.get("checks") or []
    if not checks:
        return gettext("Not validated yet.")
    rows = format_html_join(
        "",
        '<tr><td class="{}">{}</td><td>{}</td><td>{}</td></tr>',
        (
            (
                "check-ok" if c.get("ok") else "check-failed",
                gettext("passed") if c.get("ok") else gettext("FAILED"),
                versions.check_name(c.get("name", "")),
                c.get("detail", ""),
            )
            for c in checks
        ),
    )
    sample = report.get("sample") or {}
    summary = ""
    if sample:
        summary = format_html(
            "<p>{}</p>",
            gettext(
                "Own validation sample %(file)s: %(scored)s of %(rows)s rows scored, AUC %(auc)s, KS %(ks)s, "
                "Brier %(brier)s, approval rate %(approval)s, probabilities %(low)s to %(high)s."
            )
            % {
                "file": sample.get("file"),
                "scored": sample.get("rows_scored"),
                "rows": sample.get("rows"),
                "auc": _fmt(sample.get("auc")),
                "ks": _fmt(sample.get("ks")),
                "brier": _fmt(sample.get("brier")),
                "approval": _pct(sample.get("approval_rate")),
                "low": _pct(sample.get("min_probability")),
                "high": _pct(sample.get("max_probability")),
            },
        )
    return format_html(
        '<table class="lifecycle-report"><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead>'
        "<tbody>{}</tbody></table>{}<p>{}</p>",
        gettext("Result"),
        gettext("Check"),
        gettext("Detail"),
        rows,
        summary,
        gettext("Checked: %(when)s") % {"when": _when(report.get("checked_at"))},
    )


def _when(iso: str | None) -> str:
    """A stored ISO timestamp in the admin's date format (the one the other dates on the page use)."""
    moment = parse_datetime(iso or "")
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT") if moment else gettext("at an unknown time")


def render_comparison(version: ModelVersion):
    comparison = (version.validation_report or {}).get("comparison")
    if not comparison:
        return gettext("No comparison (no other version was active when this one was validated).")
    if comparison.get("error"):
        return comparison["error"]
    changed = comparison.get("features_changed_kind") or {}
    own = comparison.get("own_samples") or {}
    none = gettext("none")
    rows = [
        (gettext("Compared with"), comparison.get("active_version")),
        (gettext("Features added"), ", ".join(comparison.get("features_added") or []) or none),
        (gettext("Features removed"), ", ".join(comparison.get("features_removed") or []) or none),
        (
            gettext("Features that changed kind"),
            ", ".join(f"{n} ({v['from']} → {v['to']})" for n, v in changed.items()) or none,
        ),
        (gettext("Decline threshold"), _from_to(comparison.get("threshold"), _pct)),
        (gettext("Refer band starts at"), _from_to(comparison.get("refer_lower"), _pct)),
        (gettext("AUC (each on its own sample)"), _from_to(own.get("auc"), _fmt)),
        (gettext("KS (each on its own sample)"), _from_to(own.get("ks"), _fmt)),
        (gettext("Brier score (each on its own sample)"), _from_to(own.get("brier"), _fmt)),
        (gettext("Approval rate (each on its own sample)"), _from_to(own.get("approval_rate"), _pct)),
    ]
    for entry in comparison.get("samples") or []:
        sample = str(SAMPLE_NAMES.get(entry["sample"], entry["sample"]))
        if entry.get("compared"):
            flips = ", ".join(f"{k}: {n}" for k, n in (entry.get("flips") or {}).items()) or none
            rows += [
                (
                    gettext("On the %(sample)s") % {"sample": sample},
                    gettext("%(flipped)s of %(compared)s decisions flip (agreement %(agreement)s; %(flips)s)")
                    % {
                        "flipped": entry["decisions_flipped"],
                        "compared": entry["rows_compared"],
                        "agreement": _pct(entry.get("agreement_rate")),
                        "flips": flips,
                    },
                ),
                (
                    gettext("Approval rate (%(sample)s)") % {"sample": sample},
                    _from_to(_pair(entry, "approval_rate"), _pct),
                ),
                (gettext("AUC (%(sample)s)") % {"sample": sample}, _from_to(_pair(entry, "auc"), _fmt)),
            ]
        else:
            problem = entry.get("active_error") or entry.get("candidate_error")
            rows.append(
                (
                    gettext("On the %(sample)s") % {"sample": sample},
                    gettext("%(problem)s Only the figures above are compared.") % {"problem": problem},
                )
            )
    if comparison.get("note"):
        rows.append((gettext("Note"), comparison["note"]))
    return format_html(
        '<table class="lifecycle-report"><tbody>{}</tbody></table>',
        format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows),
    )


# The comparison stores which sample an entry is on in English; pages show it in the reader's language.
SAMPLE_NAMES = {"candidate's sample": _("candidate's sample"), "active version's sample": _("active version's sample")}


def _pair(entry: dict, metric: str) -> dict:
    return {"from": (entry.get("active") or {}).get(metric), "to": (entry.get("candidate") or {}).get(metric)}


def _from_to(pair, fmt) -> str:
    pair = pair or {}
    return f"{fmt(pair.get('from'))} → {fmt(pair.get('to'))}"


def _fmt(value) -> str:
    return gettext("n/a") if value is None else f"{value:.4g}"


def _pct(value) -> str:
    """A probability or rate as every page shows one: '12.1 %'."""
    return gettext("n/a") if value is None else f"{value * 100:.1f} %"
