"""Auditor pages: decision history with filters and keyset pages, detail, CSV export, model and credit policy
timelines, model cards, access log.

Thin views: the forms parse the query string, selectors read, exports stream.
Every view asks accounts.permissions; anyone else gets 403 (or the login page).
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import get_language, gettext
from django.views.decorators.http import require_safe

from accounts import permissions
from accounts.signals import record_model_card_viewed
from scoring.audit import exports
from scoring.audit import selectors as audit_selectors
from scoring.audit.forms import AccessEventFilterForm, LiveAtForm, PolicyLiveAtForm, PredictionFilterForm
from scoring.decisions import selectors
from scoring.decisions.presentation import policy_outcome, reason_rows
from scoring.engine.labels import FALLBACK_LANGUAGE
from scoring.engine.schema import localized_schema
from scoring.files import csv_export
from scoring.lifecycle.model_card_documents import PAGE_TEMPLATE, model_card_pdf_response
from scoring.lifecycle.model_cards import model_card
from scoring.models import ModelVersion
from scoring.notices import selectors as notice_selectors
from scoring.outcomes import selectors as outcome_selectors
from scoring.policy import presentation as policy_presentation


def _allowed(check):
    """login_required, then the permission check; GET and HEAD only (these pages change nothing)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not check(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return login_required(require_safe(wrapped))

    return decorator


def _query_without(request, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


@_allowed(permissions.can_audit)
def prediction_list(request):
    form = PredictionFilterForm(request.GET or None)
    if request.GET and not form.is_valid():
        return render(request, "scoring/audit/prediction_list.html", {"form": form}, status=400)
    filters = form.filters() if form.is_bound else selectors.PredictionFilters()
    oldest_first = form.is_bound and form.oldest_first
    cursor = form.cleaned_data.get("cursor") if form.is_bound else None
    summary = selectors.prediction_summary(user=request.user, filters=filters)
    if summary.source == "totals" and summary.count == 0:
        page = selectors.Page(items=[], next_cursor=None)  # nothing matches (say, approve + band E): no search
    else:
        page = selectors.keyset_page(
            selectors.history_rows(selectors.prediction_list(user=request.user, filters=filters)),
            cursor=cursor,
            size=settings.AUDIT_PAGE_SIZE,
            oldest_first=oldest_first,
        )
        if summary.source == "none" and not cursor and page.next_cursor is None:
            summary = selectors.page_summary(page.items)  # every match is on this page
    return render(
        request,
        "scoring/audit/prediction_list.html",
        {
            "form": form,
            "page": page,
            "summary": summary,
            "filter_query": _query_without(request, "cursor"),
            "first_page": not (form.is_bound and form.cleaned_data.get("cursor")),
        },
    )


@_allowed(permissions.can_audit)
def prediction_detail(request, pk: int):
    prediction = selectors.prediction_get(user=request.user, pk=pk)
    if prediction is None:
        raise Http404(gettext("No such decision."))
    return render(
        request,
        "scoring/audit/prediction_detail.html",
        {
            "prediction": prediction,
            "reviews": list(selectors.review_list(prediction=prediction)),
            "inputs": audit_selectors.received_inputs_get(prediction),
            # Statements and values in the reader's language (the record keeps the English statement and code).
            "reasons": reason_rows(
                list(prediction.reasons or []),
                localized_schema(prediction.model_version.metadata or {}, get_language() or FALLBACK_LANGUAGE),
            ),
            "notices": list(notice_selectors.notice_list(prediction=prediction)),
            "policy": policy_outcome(prediction),
            "counter_offers": list(selectors.counter_offer_list(user=request.user, prediction=prediction)),
            "outcomes": outcome_selectors.outcome_history(prediction),
        },
    )


@_allowed(permissions.can_audit)
def prediction_export(request):
    form = PredictionFilterForm(request.GET or None)
    if request.GET and not form.is_valid():
        return render(request, "scoring/audit/prediction_list.html", {"form": form}, status=400)
    try:
        bom = csv_export.bom_requested(request.GET)
    except ValueError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    filters = form.filters() if form.is_bound else selectors.PredictionFilters()
    log, rows = exports.start_export(user=request.user, filters=filters)
    stamp = timezone.localtime(log.created_at).strftime("%Y%m%d-%H%M%S")
    response = csv_export.csv_download(
        exports.csv_lines(rows), filename=f"decisions-{stamp}-export{log.pk}.csv", bom=bom
    )
    response["X-Export-Rows"] = str(log.row_count)
    return response


@_allowed(permissions.can_view_models)
def model_timeline(request):
    form = LiveAtForm(request.GET or None)
    live = None
    status = 200
    if form.is_bound:
        if form.is_valid():
            live = audit_selectors.model_version_live_at(form.cleaned_data["at"])
        else:
            status = 400
    activations = list(audit_selectors.model_activation_list()[:200])
    return render(
        request,
        "scoring/audit/models.html",
        {"form": form, "live": live, "activations": activations, "now": timezone.now()},
        status=status,
    )


@_allowed(permissions.can_view_models)
def model_card_page(request, model_version_id: int):
    card = model_card(get_object_or_404(ModelVersion, pk=model_version_id), user=request.user)
    record_model_card_viewed(request=request, user=request.user)
    return render(request, PAGE_TEMPLATE, {"card": card})


@_allowed(permissions.can_view_models)
def model_card_pdf(request, model_version_id: int):
    card = model_card(get_object_or_404(ModelVersion, pk=model_version_id), user=request.user)
    record_model_card_viewed(request=request, user=request.user)
    return model_card_pdf_response(card, user=request.user)


@_allowed(permissions.can_view_policies)
def policy_timeline(request):
    form = PolicyLiveAtForm(request.GET or None)
    live, rules, status = None, [], 200
    if form.is_bound:
        if form.is_valid():
            live = audit_selectors.policy_version_live_at(form.cleaned_data["at"])
            rules = policy_presentation.rule_rows(live.version) if live else []
        else:
            status = 400
    return render(
        request,
        "scoring/audit/policies.html",
        {
            "form": form,
            "live": live,
            "rules": rules,
            "activations": list(audit_selectors.policy_activation_list()[:200]),
        },
        status=status,
    )


@_allowed(permissions.can_view_access_log)
def access_log(request):
    form = AccessEventFilterForm(request.GET or None)
    if request.GET and not form.is_valid():
        return render(request, "scoring/audit/access_log.html", {"form": form}, status=400)
    filters = form.filters() if form.is_bound else audit_selectors.AccessEventFilters()
    page = selectors.keyset_page(
        audit_selectors.access_event_list(filters=filters),
        cursor=form.cleaned_data.get("cursor") if form.is_bound else None,
        size=settings.AUDIT_PAGE_SIZE,
    )
    exports_page = list(audit_selectors.export_log_list()[:20])
    return render(
        request,
        "scoring/audit/access_log.html",
        {"form": form, "page": page, "filter_query": _query_without(request, "cursor"), "exports": exports_page},
    )
