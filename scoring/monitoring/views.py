"""Monitoring pages: daily volume and rates, drift and fairness for people; the Prometheus scrape endpoint for machines.

The scrape endpoint is closed unless the caller shows the bearer token or comes from an allowed address.
"""

from __future__ import annotations

import hmac
import ipaddress

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from accounts import permissions
from scoring import display
from scoring.engine import drift
from scoring.engine.labels import FALLBACK_LANGUAGE
from scoring.models import ChallengerAssignment, ModelVersion
from scoring.monitoring import challengers, charts, metrics, performance, reports
from scoring.monitoring.forms import PerformanceVersionForm


@login_required
def monitoring_page(request):
    if not permissions.can_view_monitoring(request.user):
        raise PermissionDenied
    days = reports.daily_rates()
    # Start the charts at the first day with decisions (two weeks at least), not at an empty window edge.
    first = next((i for i, d in enumerate(days) if d.volume), len(days))
    days = days[min(first, max(len(days) - 14, 0)) :]
    x = [d.day for d in days]
    rate_charts = [
        charts.line_chart(
            title=_("Daily volume"),
            x=x,
            series=[(_("Decisions"), [d.volume for d in days])],
            y_label=_("Decisions"),
            bars=True,
            counts=True,
        ),
        charts.line_chart(
            title=_("Approval and override rates"),
            x=x,
            series=[
                (_("Approval rate"), [d.approval_rate for d in days]),
                (_("Override rate"), [d.override_rate for d in days]),
            ],
            y_label=_("Share of decisions"),
            y_format=charts.percent,
            y_max=1.0,
            thresholds=[charts.Threshold(0.10, _("override alert 10%"), "threshold")],
        ),
        charts.line_chart(
            title=_("Mean probability of default"),
            x=x,
            series=[(_("Mean PD"), [d.mean_probability for d in days])],
            y_label=_("Probability of default"),
            y_format=charts.percent,
        ),
    ]
    report = reports.latest_drift_report()
    feature_charts = []
    drift_rows = []
    if report is not None:
        history = reports.drift_report_list(version=report.model_version)
        dates = [r.created_at.date() for r in history]
        names = [f["name"] for f in report.features] + (["score"] if report.score else [])
        _statements, labels = display.reason_library(report.model_version, get_language() or FALLBACK_LANGUAGE)
        # Each feature by its label in the reader's language, with its name (as exports and alerts give it).
        drift_rows = [{**f, "label": labels.get(f["name"]) or f["name"]} for f in report.features]
        for name in names:
            values = [(r.score_psi if name == "score" else r.psi_by_feature().get(name)) for r in history]
            feature = labels.get(name) or name.replace("_", " ")
            feature_charts.append(
                charts.line_chart(
                    title=_("PSI of the score") if name == "score" else _("PSI of %(feature)s") % {"feature": feature},
                    x=dates,
                    series=[("PSI", values)],
                    y_label="PSI",
                    thresholds=[
                        charts.Threshold(drift.WATCH, _("watch %(psi)s") % {"psi": drift.WATCH}, "threshold-watch"),
                        charts.Threshold(drift.ACT, _("act %(psi)s") % {"psi": drift.ACT}, "threshold-act"),
                    ],
                )
            )
    totals = {
        "volume": sum(d.volume for d in days),
        "approved": sum(d.approved for d in days),
        "overridden": sum(d.overridden for d in days),
    }
    return render(
        request,
        "scoring/monitoring/index.html",
        {
            "days": days,
            "totals": totals,
            "rate_charts": rate_charts,
            "report": report,
            "drift_rows": drift_rows,
            "feature_charts": feature_charts,
            # Computed with the daily report: the page never scans decisions.
            "fairness": reports.FairnessReport.from_dict(report.fairness) if report and report.fairness else None,
            "watch": drift.WATCH,
            "act": drift.ACT,
            **_realised_performance(request),
        },
    )


def _realised_performance(request: HttpRequest) -> dict:
    """The realised performance section: the chosen version (?version=, else the active one) and its figures."""
    versions = performance.versions_with_decisions()
    if "version" in request.GET:
        data = request.GET
    elif versions:
        active = [v for v in versions if v.status == ModelVersion.Status.ACTIVE]
        data = {"version": (active or versions)[0].pk}
    else:
        return {"performance_form": None, "performance": None, "reliability_chart": None}
    form = PerformanceVersionForm(data, versions=versions)
    found = performance.cached_realised_performance(form.chosen) if form.chosen is not None else None
    return {
        "performance_form": form,
        "performance": found,
        "reliability_chart": None
        if found is None
        else charts.reliability_chart(title=gettext("Predicted against observed default rate"), rows=found.calibration),
    }


KINDS = ("approve", "refer", "decline")


class ChallengerChoiceForm(forms.Form):
    version = forms.TypedChoiceField(label=_("Challenger"), coerce=int, required=False)

    def __init__(self, data, *, versions, current_id):
        super().__init__(data)
        self.fields["version"].choices = [
            (v.pk, f"{v}" + (" — " + _("running now") if v.pk == current_id else "")) for v in versions
        ]


@login_required
@require_GET
def challenger_page(request):
    """A shadow challenger (the current one, or a chosen past one) against the champion, on the same decisions."""
    if not permissions.can_view_monitoring(request.user):
        raise PermissionDenied
    versions = challengers.challenger_versions()
    current_id = ChallengerAssignment.objects.current_version_id()
    form = ChallengerChoiceForm(request.GET or None, versions=versions, current_id=current_id)
    chosen = None
    if form.is_bound and form.is_valid() and form.cleaned_data["version"]:
        chosen = next(v for v in versions if v.pk == form.cleaned_data["version"])
    elif not form.is_bound and versions:
        chosen = next((v for v in versions if v.pk == current_id), versions[0])
    comparison = challengers.comparison_get(version=chosen) if chosen is not None else None
    chart = None
    if comparison is not None and comparison.scored:
        edges = comparison.pd_edges
        chart = charts.distribution_chart(
            title=_("Probability of default of the same decisions"),
            bins=[f"{edges[i] * 100:.0f}-{edges[i + 1] * 100:.0f}%" for i in range(len(edges) - 1)],
            series=[
                (_("Champion"), [n / comparison.scored for n in comparison.champion_pd_counts]),
                (_("Challenger"), [n / comparison.scored for n in comparison.challenger_pd_counts]),
            ],
            y_label=_("Share of decisions"),
            x_label=_("Probability of default"),
        )
    return render(
        request,
        "scoring/monitoring/challenger.html",
        {
            "form": form,
            "comparison": comparison,
            "current_id": current_id,
            "chart": chart,
            "kinds": KINDS,
            "matrix_rows": [(a, [comparison.matrix[a][b] for b in KINDS]) for a in KINDS] if comparison else [],
            "can_audit": permissions.can_audit(request.user),
            "champion_approval": comparison.approval_rate("champion") if comparison else None,
            "challenger_approval": comparison.approval_rate("challenger") if comparison else None,
        },
    )


# --- the Prometheus scrape endpoint ----------------------------------------------


def _allowed_address(request: HttpRequest) -> bool:
    # REMOTE_ADDR only: X-Forwarded-For is whatever the client says it is.
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    for allowed in settings.METRICS_ALLOWED_IPS:
        try:
            if address in ipaddress.ip_network(allowed, strict=False):
                return True
        except ValueError:
            continue
    return False


def _bearer_token(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    token = _bearer_token(request)
    expected = settings.METRICS_TOKEN
    token_ok = bool(expected) and token is not None and hmac.compare_digest(token.encode(), expected.encode())
    if not token_ok and not _allowed_address(request):
        if token is None:
            response = HttpResponse("Metrics need a bearer token.\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        return HttpResponse("Not allowed.\n", status=403, content_type="text/plain")
    body = generate_latest(metrics.process_registry()) + generate_latest(metrics.database_registry())
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
