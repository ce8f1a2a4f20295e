"""The monitoring page: daily volume and rates, drift against the training population, and fairness by group."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from accounts import permissions
from scoring import charts, drift, monitoring


@login_required
def monitoring_page(request):
    if not permissions.can_view_monitoring(request.user):
        raise PermissionDenied
    days = monitoring.daily_rates()
    # Start the charts at the first day with decisions (two weeks at least), not at an empty window edge.
    first = next((i for i, d in enumerate(days) if d.volume), len(days))
    days = days[min(first, max(len(days) - 14, 0)) :]
    x = [d.day for d in days]
    rate_charts = [
        charts.line_chart(
            title="Daily volume", x=x, series=[("Decisions", [d.volume for d in days])], y_label="Decisions", bars=True
        ),
        charts.line_chart(
            title="Approval and override rates",
            x=x,
            series=[
                ("Approval rate", [d.approval_rate for d in days]),
                ("Override rate", [d.override_rate for d in days]),
            ],
            y_label="Share of decisions",
            y_format=charts.percent,
            y_max=1.0,
            thresholds=[charts.Threshold(0.10, "override alert 10%", "threshold")],
        ),
        charts.line_chart(
            title="Mean probability of default",
            x=x,
            series=[("Mean PD", [d.mean_probability for d in days])],
            y_label="Probability of default",
            y_format=charts.percent,
        ),
    ]
    report = monitoring.latest_drift_report()
    feature_charts = []
    if report is not None:
        history = monitoring.drift_report_list(version=report.model_version)
        dates = [r.created_at.date() for r in history]
        names = [f["name"] for f in report.features] + (["score"] if report.score else [])
        for name in names:
            values = [(r.score_psi if name == "score" else r.psi_by_feature().get(name)) for r in history]
            feature_charts.append(
                charts.line_chart(
                    title=f"PSI of {name.replace('_', ' ')}",
                    x=dates,
                    series=[("PSI", values)],
                    y_label="PSI",
                    thresholds=[
                        charts.Threshold(drift.WATCH, "watch 0.1", "threshold-watch"),
                        charts.Threshold(drift.ACT, "act 0.25", "threshold-act"),
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
            "feature_charts": feature_charts,
            # Computed with the daily report: the page never scans decisions.
            "fairness": monitoring.FairnessReport.from_dict(report.fairness) if report and report.fairness else None,
            "watch": drift.WATCH,
            "act": drift.ACT,
        },
    )
