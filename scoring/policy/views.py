"""Policy simulation pages: ask for a replay of a version on history, and read its report.

Thin views: the form parses the window, the simulation service checks it and queues the task.
Credit policy managers ask (and ask again for one that failed or stopped); credit managers and auditors
read too. Anyone else gets 403.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts import permissions
from scoring.exceptions import InvalidSimulation
from scoring.models import PolicySimulation, PolicyVersion
from scoring.monitoring.replay import decision_rows, protected_attributes
from scoring.monitoring.reports import FairnessTable
from scoring.policy import simulation as simulations
from scoring.policy.replay import DECISIONS
from scoring.policy.simulation_forms import SimulationForm

RECENT_SIMULATIONS = 50


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def policy_simulate(request, version_id: int):
    if not permissions.can_view_policy_simulations(request.user):
        raise PermissionDenied
    version = get_object_or_404(PolicyVersion, pk=version_id)
    can_simulate = permissions.can_simulate_policy(request.user)
    form = SimulationForm(request.POST or None, initial={"days": 30})
    if request.method == "POST":
        if not can_simulate:
            raise PermissionDenied
        if form.is_valid():
            try:
                found = simulations.request_simulation(version=version, user=request.user, **form.window())
            except InvalidSimulation as exc:
                form.add_service_errors(exc.errors)
            else:
                return redirect("scoring:policy-simulation", simulation_id=found.pk)
    listed = version.simulations.select_related("requested_by")[:RECENT_SIMULATIONS]
    return render(
        request,
        "scoring/policy/simulate.html",
        {"version": version, "form": form, "can_simulate": can_simulate, "simulations": listed},
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
@require_safe
def simulation_detail(request, simulation_id: int):
    if not permissions.can_view_policy_simulations(request.user):
        raise PermissionDenied
    found = get_object_or_404(PolicySimulation.objects.select_related("version", "requested_by"), pk=simulation_id)
    context = _detail_context(found) | {
        "can_simulate": permissions.can_simulate_policy(request.user),
        "can_audit": permissions.can_audit(request.user),
    }
    if found.state == PolicySimulation.State.DONE:
        context.update(_report_context(found.report))
    return render(request, "scoring/policy/simulation.html", context)


@login_required
@require_POST
def simulation_rerun(request, simulation_id: int):
    if not permissions.can_simulate_policy(request.user):
        raise PermissionDenied
    found = get_object_or_404(PolicySimulation.objects.select_related("version", "requested_by"), pk=simulation_id)
    try:
        again = simulations.rerun_simulation(simulation=found, user=request.user)
    except InvalidSimulation as exc:
        found.refresh_from_db()
        context = _detail_context(found) | {
            "can_simulate": True,
            "can_audit": permissions.can_audit(request.user),
            "rerun_errors": exc.errors,
        }
        if found.state == PolicySimulation.State.DONE:
            context.update(_report_context(found.report))
        return render(request, "scoring/policy/simulation.html", context, status=400)
    return redirect("scoring:policy-simulation", simulation_id=again.pk)


def _detail_context(found: PolicySimulation) -> dict:
    return {
        "simulation": found,
        "version": found.version,
        "finished": found.state in (PolicySimulation.State.DONE, PolicySimulation.State.FAILED),
        "stale": simulations.is_stale(found),
        "progress": (found.report or {}).get("progress") or {},
    }


def _report_context(report: dict) -> dict:
    """The stored report, shaped for side-by-side tables (moments parsed, fairness tables paired by attribute)."""
    sides = report["sides"]
    active, draft = sides["active"], sides["draft"]
    outcomes = decision_rows(active, draft, DECISIONS)
    labels = dict(protected_attributes())  # the active bundle's, in the reader's language (as the replay grouped)
    fairness = [
        {"active": FairnessTable.from_dict(a, labels), "draft": FairnessTable.from_dict(d, labels)}
        for a, d in zip(active["fairness"], draft["fairness"], strict=True)
    ]
    changed = [row | {"created_at": datetime.fromisoformat(row["created_at"])} for row in report["changed"]]
    return {
        "report": report,
        "active": active,
        "draft": draft,
        "outcomes": outcomes,
        "fairness": fairness,
        "changed": changed,
        "rule_sides": [(draft, _("Simulated")), (active, _("Active policy"))],
    }
