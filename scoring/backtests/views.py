"""Backtest pages: ask for a backtest of a model version on history, follow its progress, read its report.

Thin views: the form parses the request, the backtest service checks it and queues the task. Model
administrators ask (and ask again); auditors read. Anyone else gets 403.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts import permissions
from scoring.backtests import services
from scoring.backtests.forms import BacktestForm
from scoring.backtests.presentation import report_context
from scoring.exceptions import InvalidBacktest
from scoring.models import Backtest
from scoring.monitoring.replay import protected_attributes

RECENT_BACKTESTS = 50


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def backtest_list(request):
    if not permissions.can_view_backtests(request.user):
        raise PermissionDenied
    can_request = permissions.can_request_backtests(request.user)
    today = timezone.localdate()
    initial = {"date_from": today.replace(day=1), "date_to": today, "model_version": request.GET.get("model_version")}
    form = BacktestForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not can_request:
            raise PermissionDenied
        if form.is_valid():
            try:
                found = services.request_backtest(user=request.user, **form.request())
            except InvalidBacktest as exc:
                form.add_service_errors(exc.errors)
            else:
                return redirect("scoring:backtest-detail", backtest_id=found.pk)
    listed = Backtest.objects.select_related("model_version", "policy_version", "requested_by")[:RECENT_BACKTESTS]
    return render(
        request,
        "scoring/backtests/list.html",
        {"form": form, "can_request": can_request, "backtests": listed},
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
@require_safe
def backtest_detail(request, backtest_id: int):
    if not permissions.can_view_backtests(request.user):
        raise PermissionDenied
    found = get_object_or_404(
        Backtest.objects.select_related("model_version", "policy_version", "applied_policy", "requested_by"),
        pk=backtest_id,
    )
    finished = found.state in (Backtest.State.DONE, Backtest.State.FAILED)
    context = {
        "backtest": found,
        "finished": finished,
        "stale": services.is_stale(found),
        "can_request": permissions.can_request_backtests(request.user),
        "can_audit": permissions.can_audit(request.user),
    }
    if found.state == Backtest.State.DONE:
        labels = dict(protected_attributes(found.model_version.metadata or {}))  # in the reader's language
        context.update(report_context(found.result, labels))
    return render(request, "scoring/backtests/detail.html", context)


@login_required
@require_POST
def backtest_rerun(request, backtest_id: int):
    if not permissions.can_request_backtests(request.user):
        raise PermissionDenied
    found = get_object_or_404(Backtest.objects.select_related("model_version", "policy_version"), pk=backtest_id)
    try:
        again = services.rerun_backtest(backtest=found, user=request.user)
    except InvalidBacktest as exc:
        return render(
            request,
            "scoring/backtests/detail.html",
            {"backtest": found, "finished": False, "stale": False, "can_request": True, "rerun_errors": exc.errors},
            status=400,
        )
    return redirect("scoring:backtest-detail", backtest_id=again.pk)
