"""Web pages of the scoring app: thin views that call services and selectors and render."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.timesince import timesince
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import permissions
from scoring.decisions import selectors, services, start_pages
from scoring.decisions.forms import (
    COUNTER_OFFER_OF,
    ApplicationForm,
    ApprovalForm,
    PredictionFilterForm,
    QueueFilterForm,
    ReviewForm,
    consume_form_token,
    form_token_is_open,
    idempotency_key_for,
    issue_form_token,
)
from scoring.decisions.presentation import DecisionView
from scoring.exceptions import (
    DuplicateApplication,
    InvalidApplication,
    InvalidReview,
    ModelUnavailable,
    NotAllowed,
)
from scoring.lifecycle import registry
from scoring.models import Channel, Decision, Prediction
from scoring.offers import alternatives
from scoring.offers.alternatives import OFFERED_FOR
from scoring.policy import registry as policy_registry

HOME_RECENT = 5
HOME_REFERRALS = 5
MINE_PAGE_SIZE = 20
QUEUE_PAGE_SIZE = 20
MAX_PREDICTION_ID = 2**63 - 1


def _page_links(request, url_name: str, next_cursor: str | None) -> tuple[str, str | None]:
    """The first page's and the next page's addresses, with the request's filters kept."""
    params = {k: v for k, v in request.GET.items() if k != "cursor" and v}
    base = reverse(url_name)
    first = f"{base}?{urlencode(params)}" if params else base
    following = f"{base}?{urlencode({**params, 'cursor': next_cursor})}" if next_cursor else None
    return first, following


def _model_unavailable(request, exc: ModelUnavailable) -> HttpResponse:
    return render(request, "scoring/model_unavailable.html", {"problem": str(exc)}, status=503)


def _require_officer(request) -> None:
    if not permissions.can_score(request.user):
        raise PermissionDenied(gettext("Only loan officers can do this."))


def _visible_prediction(request, pk: int) -> Prediction:
    """The prediction if this user may see it; 404 otherwise, so ids of others' cases reveal nothing."""
    prediction = get_object_or_404(Prediction.objects.select_related("model_version", "user"), pk=pk)
    if not permissions.can_view_prediction(request.user, prediction):
        raise Http404("No such decision.")
    return prediction


@login_required
@require_GET
def home(request):
    try:
        active = registry.get_active().version
    except ModelUnavailable:
        active = None
    recent, referrals, referral_count, approvals = [], [], 0, None
    if permissions.is_officer(request.user):
        mine = selectors.prediction_list(
            user=request.user, filters=selectors.PredictionFilters(user_id=request.user.pk)
        )
        recent = list(selectors.with_review_state(mine).only(*selectors.OFFICER_LIST_FIELDS)[:HOME_RECENT])
    if permissions.can_view_referral_queue(request.user):
        # The badge counts every open referral of the team; the few oldest are listed, the queue has all.
        referral_count = selectors.open_referral_count(user=request.user)
        referrals = list(selectors.referral_queue(user=request.user).order_by("created_at", "id")[:HOME_REFERRALS])
    if permissions.can_approve_overrides(request.user):
        approvals = list(selectors.pending_approval_list(user=request.user))
    return render(
        request,
        "scoring/home.html",
        {
            "active_version": active,
            "recent": recent,
            "open_referrals": referrals,
            "referral_count": referral_count,
            "pending_approvals": approvals,
            "is_officer": permissions.is_officer(request.user),
            # Not a navigation entry (the batch list links to it), so the page asks for it by itself.
            "can_submit_batch": permissions.can_submit_batch(request.user),
            # The auditor's and model administrator's parts of the page.
            **start_pages.home_sections(request.user),
        },
    )


def _policy_required(model) -> dict[str, str]:
    """The optional fields (protected attributes) the live credit policy tests, with why they are needed."""
    policy = policy_registry.get_active()
    return policy.required([p.name for p in model.protected]) if policy is not None else {}


@login_required
@require_http_methods(["GET", "POST"])
def application_new(request):
    _require_officer(request)
    try:
        active = registry.get_active()
    except ModelUnavailable as exc:
        return _model_unavailable(request, exc)

    if request.method == "GET":
        initial = {"form_token": issue_form_token(request.session)}
        original = _counter_offer_original(request, request.GET.get(COUNTER_OFFER_OF))
        if original is not None:
            initial |= _counter_offer_initial(request, original, active.model)
        form = ApplicationForm(model=active.model, policy_required=_policy_required(active.model), initial=initial)
        return render(
            request,
            "scoring/application_form.html",
            {"form": form, "active_version": active.version, "counter_offer_of": original},
        )

    token = request.POST.get("form_token", "")
    original = _counter_offer_original(request, request.POST.get(COUNTER_OFFER_OF))
    already = _decision_made_with(request.user, token)
    if already is not None:  # a refresh or second click of a form that was already scored
        return redirect("scoring:prediction-detail", pk=already.pk)
    form = ApplicationForm(request.POST, model=active.model, policy_required=_policy_required(active.model))
    if not form_token_is_open(request.session, token):
        form.is_valid()  # keep and check what was typed, but do not score on an unknown token
        form.add_error(None, gettext("This form has expired or was already used. Check the values and submit again."))
        form.data = form.data.copy()
        form.data["form_token"] = issue_form_token(request.session)
    elif form.is_valid():
        try:
            prediction = _score_form(request.user, form, token, original)
        except DuplicateApplication as exc:
            if exc.existing.idempotency_key == idempotency_key_for(token):
                # A second click that raced past the token check and found the first one's decision.
                return redirect("scoring:prediction-detail", pk=exc.existing.pk)
            form.warn_duplicate(exc.existing)
        except InvalidApplication as exc:  # the model changed between showing and checking the form
            form.add_engine_errors(exc.errors)
        except ModelUnavailable as exc:
            return _model_unavailable(request, exc)
        except IntegrityError:
            # Two clicks raced past the token check; the unique key let one through: show that one.
            already = _decision_made_with(request.user, token)
            if already is None:
                raise
            return redirect("scoring:prediction-detail", pk=already.pk)
        else:
            consume_form_token(request.session, token)
            return redirect("scoring:prediction-detail", pk=prediction.pk)
    # 200 as Django forms do: the page is the answer (errors next to fields), not a failed request.
    return render(
        request,
        "scoring/application_form.html",
        {"form": form, "active_version": active.version, "counter_offer_of": original},
    )


def _counter_offer_original(request, raw: str | None) -> Prediction | None:
    """The decision named by ``counter_offer_of``, when this user may see it; 404 for another's or a bad id."""
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) <= MAX_PREDICTION_ID:
        raise Http404("No such decision.")
    return _visible_prediction(request, int(raw))


def _counter_offer_initial(request, original: Prediction, model) -> dict[str, object]:
    """The original application as given, with the offered terms from the link's query over it."""
    names = {f.name for f in model.all_fields}
    initial: dict[str, object] = {
        name: "" if value is None else str(value) for name, value in original.given_inputs.items() if name in names
    }
    initial |= {name: request.GET[name] for name in names if name in request.GET}
    return initial | {"external_ref": original.external_ref, COUNTER_OFFER_OF: original.pk}


def _score_form(user, form: ApplicationForm, token: str, original: Prediction | None) -> Prediction:
    """Score the form, warning first about a recent decision of the same application.

    The officer confirms by submitting again: the warning's hidden field names the decision they were
    shown, so what they confirmed is that one; a different earlier decision (the inputs were changed
    to match another) warns again.
    """
    score = partial(
        services.score_application,
        user=user,
        inputs=form.inputs(),
        channel=Channel.WEB,
        external_ref=form.cleaned_data["external_ref"],
        idempotency_key=idempotency_key_for(token),
        counter_offer_of=original,
    )
    confirmed = form.cleaned_data.get("confirm_duplicate")
    try:
        return score(check_duplicates=True)
    except DuplicateApplication as exc:
        if confirmed is None or exc.existing.pk != confirmed:
            raise
    return score(check_duplicates=False)


def _decision_made_with(user, token: str) -> Prediction | None:
    if not token:
        return None
    return selectors.prediction_with_key(user=user, idempotency_key=idempotency_key_for(token))


@login_required
@require_GET
def prediction_detail(request, pk: int):
    prediction = _visible_prediction(request, pk)
    return _render_detail(request, prediction, _review_form_for(request, prediction))


def _review_form_for(request, prediction: Prediction) -> ReviewForm | None:
    """A blank review form when this user may review the case now (not while a change waits for approval)."""
    if not permissions.can_review(request.user, prediction):
        return None
    return ReviewForm(decision=prediction.decision)


@login_required
@require_POST
def prediction_review(request, pk: int):
    prediction = _visible_prediction(request, pk)
    if not permissions.can_review(request.user, prediction):
        raise PermissionDenied(
            gettext("Only the officer who made a decision, or their team for an open referral, can review it.")
        )
    form = ReviewForm(request.POST, decision=prediction.decision)
    if form.is_valid():
        try:
            review = services.record_review(
                user=request.user,
                prediction=prediction,
                outcome=form.cleaned_data["outcome"],
                reason_code=form.cleaned_data["reason_code"],
                justification=form.cleaned_data["justification"],
            )
        except InvalidReview as exc:
            form.add_review_errors(exc.errors)
        except NotAllowed as exc:
            raise PermissionDenied(str(exc)) from exc
        else:
            if review.needs_approval:
                messages.success(
                    request, gettext("Your review was recorded. It waits for a credit manager's approval.")
                )
            else:
                messages.success(request, gettext("Your review was recorded."))
            return redirect("scoring:prediction-detail", pk=prediction.pk)
    return _render_detail(request, prediction, form)


@login_required
@require_POST
def override_approve(request, pk: int):
    return _answer_approval(request, pk, approved=True)


@login_required
@require_POST
def override_reject(request, pk: int):
    return _answer_approval(request, pk, approved=False)


def _answer_approval(request, pk: int, *, approved: bool):
    if not permissions.can_approve_overrides(request.user):
        raise PermissionDenied(gettext("Only a credit manager can approve or reject a change."))
    prediction = _visible_prediction(request, pk)
    form = ApprovalForm(request.POST)
    if form.is_valid():
        try:
            services.decide_approval(
                user=request.user, prediction=prediction, approved=approved, note=form.cleaned_data["note"]
            )
        except InvalidReview as exc:
            form.add_review_errors(exc.errors)
        except NotAllowed as exc:
            raise PermissionDenied(str(exc)) from exc
        else:
            messages.success(
                request, gettext("The change was approved.") if approved else gettext("The change was rejected.")
            )
            return redirect("scoring:prediction-detail", pk=prediction.pk)
    return _render_detail(request, prediction, _review_form_for(request, prediction), approval_form=form)


def _render_detail(
    request,
    prediction: Prediction,
    review_form: ReviewForm | None,
    status: int = 200,
    approval_form: ApprovalForm | None = None,
):
    reviews = list(selectors.review_list(prediction=prediction))
    view = DecisionView(prediction, reviews)
    pending = view.pending_review
    if pending is not None:
        review_form = None  # no other review while a change waits for approval
        if approval_form is None and permissions.can_approve(request.user, pending):
            approval_form = ApprovalForm()
    else:
        approval_form = None
    return render(
        request,
        "scoring/prediction_detail.html",
        {
            "offers": _offers_panel(request, prediction),
            "counter_offers": list(selectors.counter_offer_list(user=request.user, prediction=prediction)),
            "prediction": prediction,
            "view": view,
            "reviews": reviews,
            "review_form": review_form,
            "approval_form": approval_form,
            "needs_decision": prediction.decision == Decision.REFER and not reviews and review_form is not None,
            "print_view": request.GET.get("print") == "1",
        },
        status=status,
    )


def _offers_panel(request, prediction: Prediction) -> dict | None:
    """The "What could be offered" panel of a declined or referred decision: each alternative with its link."""
    if prediction.decision not in OFFERED_FOR:
        return None
    try:
        offers = alternatives.offers_for(prediction)
    except ModelUnavailable:
        return {"message": gettext("No model is active, so no alternative can be computed now."), "items": []}
    link = permissions.can_score(request.user)
    items = []
    for alternative in offers.alternatives:
        terms = {change.feature.name: change.after for change in alternative.changes}
        query = urlencode({COUNTER_OFFER_OF: prediction.pk, **terms})
        items.append(
            {
                "alternative": alternative,
                "changes": [alternatives.change_text(change) for change in alternative.changes],
                "url": f"{reverse('scoring:application-new')}?{query}" if link else None,
            }
        )
    return {"message": offers.message, "items": items, "model_version": offers.model_version}


@login_required
@require_GET
def referral_queue(request):
    if not permissions.can_view_referral_queue(request.user):
        raise PermissionDenied(gettext("Only loan officers and credit managers see the referral queue."))
    colleagues = selectors.team_members(user=request.user)
    form = QueueFilterForm(request.GET or None, colleagues=colleagues)
    qs = selectors.referral_queue(user=request.user, assignee=form.chosen_assignee)
    page = selectors.keyset_page(qs, cursor=request.GET.get("cursor"), size=QUEUE_PAGE_SIZE, oldest_first=True)
    names = selectors.user_names({p.assignee_id for p in page.items if p.assignee_id})
    now = timezone.now()
    rows = [
        {
            "prediction": p,
            "age": timesince(p.created_at, now, depth=1),
            "officer": p.user.get_full_name() or p.user.get_username(),
            "assignee": gettext("You") if p.assignee_id == request.user.pk else names.get(p.assignee_id, ""),
            "can_take": permissions.is_officer(request.user) and p.assignee_id != request.user.pk,
        }
        for p in page.items
    ]
    first_url, next_url = _page_links(request, "scoring:referral-queue", page.next_cursor)
    return render(
        request,
        "scoring/referral_queue.html",
        {
            "form": form,
            "rows": rows,
            "total": qs.count(),
            "next_url": next_url,
            "first_url": first_url,
            "first_page": not request.GET.get("cursor"),
            "here": request.get_full_path(),
        },
    )


@login_required
@require_POST
def referral_take(request, pk: int):
    _require_officer(request)
    prediction = _visible_prediction(request, pk)
    try:
        services.take_referral(user=request.user, prediction=prediction)
    except NotAllowed as exc:
        messages.error(request, str(exc))
    else:
        if prediction.external_ref:
            messages.success(request, gettext("You took %(ref)s.") % {"ref": prediction.external_ref})
        else:
            messages.success(request, gettext("You took decision #%(pk)s.") % {"pk": prediction.pk})
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(back)
    return redirect("scoring:referral-queue")


@login_required
@require_GET
def prediction_mine(request):
    _require_officer(request)
    form = PredictionFilterForm(request.GET or None)
    filters = selectors.PredictionFilters(user_id=request.user.pk)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        reviewed = {"yes": True, "no": False}.get(data["reviewed"])
        filters = selectors.PredictionFilters(
            user_id=request.user.pk,
            date_from=data["date_from"],
            date_to=data["date_to"],
            decision=data["decision"] or None,
            reviewed=reviewed,
            external_ref_prefix=data["reference"] or None,
        )
    qs = selectors.with_review_state(selectors.prediction_list(user=request.user, filters=filters))
    page = selectors.keyset_page(
        qs.only(*selectors.OFFICER_LIST_FIELDS), cursor=request.GET.get("cursor"), size=MINE_PAGE_SIZE
    )
    newest_url, older_url = _page_links(request, "scoring:prediction-mine", page.next_cursor)
    return render(
        request,
        "scoring/prediction_mine.html",
        {
            "form": form,
            "page": page,
            "older_url": older_url,
            "newest_url": newest_url,
            "first_page": not request.GET.get("cursor"),
        },
    )
