"""Notice pages: the officer's form for a final decline, the notice as a print-ready page, and its PDF.

Opening an issued notice again (page or PDF) is written to the access log.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from accounts import permissions
from accounts.signals import record_notice_downloaded
from scoring.decisions import selectors as decision_selectors
from scoring.exceptions import InvalidNotice, NotAllowed, NotFinalDecline
from scoring.models import AdverseActionNotice
from scoring.notices import documents, selectors, services
from scoring.notices.forms import NoticeForm

# Session key: the notice this session has just issued, shown once without counting as a re-download.
JUST_ISSUED_KEY = "notice_just_issued"


@login_required
@require_http_methods(["GET", "POST"])
def notice_new(request, pk: int):
    prediction = decision_selectors.prediction_get(user=request.user, pk=pk)
    if prediction is None:
        raise Http404("No such decision.")
    if not permissions.can_issue_notice(request.user, prediction):
        raise PermissionDenied("Only the officer whose case it is can produce its notice.")
    context = {"prediction": prediction, "notices": list(selectors.notice_list(prediction=prediction))}
    final = services.final_decision_of(prediction)
    if not final.is_decline:
        context["refused"] = (
            f"An adverse-action notice is only produced for a final decline; this decision's outcome is {final.label}."
        )
        return render(request, "scoring/notices/notice_form.html", context, status=409)
    form = NoticeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            notice = services.issue_notice(user=request.user, prediction=prediction, **form.cleaned_data)
        except InvalidNotice as exc:
            form.add_notice_errors(exc.errors)
        except NotFinalDecline as exc:  # reviewed in another tab since the form was shown
            context["refused"] = str(exc)
            return render(request, "scoring/notices/notice_form.html", context, status=409)
        except NotAllowed as exc:
            raise PermissionDenied(str(exc)) from exc
        else:
            request.session[JUST_ISSUED_KEY] = {"notice": notice.pk, "unseen": ["html", "pdf"]}
            messages.success(request, "The adverse-action notice was issued and recorded with the decision.")
            return redirect("scoring:notice-detail", notice_id=notice.pk)
    context["form"] = form
    return render(request, "scoring/notices/notice_form.html", context)


def _opened(request, notice_id: int, form: str) -> AdverseActionNotice:
    """The notice if this user may see its decision (404 otherwise); a re-download is logged.

    The issuing officer's first look at the page and first PDF, in the session that issued it, are
    part of issuing it; any later opening, by anyone, is a re-download.
    """
    notice = selectors.notice_get(user=request.user, pk=notice_id)
    if notice is None:
        raise Http404("No such notice.")
    issued = request.session.get(JUST_ISSUED_KEY) or {}
    if issued.get("notice") == notice.pk and form in issued.get("unseen", ()):
        request.session[JUST_ISSUED_KEY] = {**issued, "unseen": [f for f in issued["unseen"] if f != form]}
    else:
        record_notice_downloaded(request=request, user=request.user)
    return notice


@login_required
@require_safe
def notice_detail(request, notice_id: int):
    notice = _opened(request, notice_id, "html")
    return render(request, "scoring/notices/notice.html", {"notice": notice, "prediction": notice.prediction})


@login_required
@require_safe
def notice_pdf(request, notice_id: int):
    notice = _opened(request, notice_id, "pdf")
    return documents.notice_pdf_response(notice)
