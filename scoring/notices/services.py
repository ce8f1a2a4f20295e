"""Issue an adverse-action notice for a final decline: check it is one, put the notice into words, keep it as issued.

``issue_notice`` is the only code that creates AdverseActionNotice rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.template.defaultfilters import date as format_date
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from accounts import permissions
from scoring import display
from scoring.decisions import selectors as decision_selectors
from scoring.decisions.presentation import DecisionView
from scoring.decisions.services import lock_reviews_of
from scoring.engine.policy import reason_statement
from scoring.engine.schema import localized_schema
from scoring.exceptions import InvalidNotice, NotAllowed, NotFinalDecline
from scoring.models import AdverseActionNotice, Decision, Prediction, Review

# Principal reasons on a notice: at most four, as adverse-action rules expect.
MAX_REASONS = 4
NAME_MAX_LENGTH = 200
ADDRESS_MAX_LENGTH = 500
ADDRESS_MAX_LINES = 8
LETTER_TEMPLATE = "scoring/notices/_letter.html"
PENDING_APPROVAL = "pending_approval"  # a change waits for a credit manager: no final outcome yet


@dataclass(frozen=True)
class FinalDecision:
    """A decision's final outcome and the review that set it (None: the model's own decision stands)."""

    decision: str
    review: Review | None

    @property
    def is_decline(self) -> bool:
        return self.decision == Decision.DECLINE

    @property
    def label(self) -> str:
        return "pending approval" if self.decision == PENDING_APPROVAL else Decision(self.decision).label.lower()


def final_decision_of(prediction: Prediction) -> FinalDecision:
    """The final outcome as the decision page computes it (``DecisionView``), and the review that set it.

    The one place that says whether a decision is a final decline for a notice. While a change waits
    for a credit manager's approval the outcome is not final either way: no notice until it is answered.
    """
    view = DecisionView(prediction, list(decision_selectors.review_list(prediction=prediction)))
    if view.pending_review is not None:
        return FinalDecision(PENDING_APPROVAL, view.pending_review)
    return FinalDecision(view.final_decision, view.deciding_review)


def applicant_reasons(prediction: Prediction) -> list[str]:
    """The principal reasons as statements an applicant can be given: strongest first, at most four.

    Each stored reason gives its ``statement``, in the active language when the model version's
    reason library has it in that language (by the reason's code); rows recorded before reasons had
    one give their ``sentence``. A reason that lowered the risk is not a reason for a decline; codes
    are never shown.
    """
    schema = localized_schema(prediction.model_version.metadata or {}, translation.get_language() or "en")
    by_code = {
        r.get("code"): r.get("statement")
        for f in schema.get("features") or ()
        if isinstance(f, dict)
        for r in (f.get("reasons") or {}).values()
        if isinstance(r, dict)
    }
    statements: list[str] = []
    language = get_language()  # the notice is issued, and stored, in the issuer's language
    for reason in prediction.reasons or []:
        if not isinstance(reason, dict):
            continue
        contribution = reason.get("contribution")
        if isinstance(contribution, int | float) and contribution <= 0:
            continue
        stated = reason.get("statement") and (by_code.get(reason.get("code")) or reason_statement(reason, language))
        text = str(stated or reason.get("sentence") or "").strip()
        if text and text not in statements:
            statements.append(text)
        if len(statements) == MAX_REASONS:
            break
    return statements


def action_taken(prediction: Prediction) -> str:
    """What was decided, in the applicant's words: the loan's amount and term when the decision has them."""
    units = {
        str(f.get("name")): display.text(f.get("unit"))
        for f in (prediction.model_version.metadata or {}).get("features") or []
        if isinstance(f, dict)
    }
    given = {**(prediction.inputs or {}), **(prediction.features or {})}
    amount, months = given.get("credit_amount"), given.get("duration_in_month")
    if _is_number(amount) and _is_number(months):
        currency = units.get("credit_amount") or "DM"
        return _("Your application for a loan of %(amount)s over %(months)s months has been declined.") % {
            "amount": display.money(round(amount), currency),
            "months": display.integer(months),
        }
    return _("Your application for credit has been declined.")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def applicant_errors(*, applicant_name: str, applicant_address: str) -> dict[str, list[str]]:
    """What is wrong with the applicant's details, by field: required, bounded, printable text only."""
    errors: dict[str, list[str]] = {}
    name = (applicant_name or "").strip()
    address = _address_lines(applicant_address)
    if not name:
        errors["applicant_name"] = [_("Enter the applicant's name.")]
    elif len(name) > NAME_MAX_LENGTH:
        errors["applicant_name"] = [_("Use at most %(count)s characters.") % {"count": NAME_MAX_LENGTH}]
    elif not name.isprintable():
        errors["applicant_name"] = [_("Use printable characters only (no tabs or control characters).")]
    if not address:
        errors["applicant_address"] = [_("Enter the applicant's postal address.")]
    elif len("\n".join(address)) > ADDRESS_MAX_LENGTH:
        errors["applicant_address"] = [_("Use at most %(count)s characters.") % {"count": ADDRESS_MAX_LENGTH}]
    elif len(address) > ADDRESS_MAX_LINES:
        errors["applicant_address"] = [_("Use at most %(count)s lines.") % {"count": ADDRESS_MAX_LINES}]
    elif not all(line.isprintable() for line in address):
        errors["applicant_address"] = [_("Use printable characters only (no tabs or control characters).")]
    return errors


def _address_lines(address: str) -> list[str]:
    """An address as its non-empty lines, each without surrounding spaces."""
    return [line.strip() for line in (address or "").replace("\r\n", "\n").split("\n") if line.strip()]


def notice_content(*, prediction: Prediction, applicant_name: str, applicant_address: str) -> dict[str, Any]:
    """Every field the notice shows, as it will be kept, in the active language (the issuing officer's)."""
    today = timezone.localdate()
    language = _notice_language()
    return {
        "language": language,
        "lender": {"name": settings.LENDER_NAME, "address": settings.LENDER_ADDRESS},
        "date": today.isoformat(),
        "date_text": format_date(today, "j F Y"),
        "applicant": {"name": applicant_name.strip(), "address": _address_lines(applicant_address)},
        "action": action_taken(prediction),
        "reasons": applicant_reasons(prediction),
        "statutory_text": [p.strip() for p in statutory_text(language).split("\n\n") if p.strip()],
        "decision_id": prediction.pk,
        "reference": prediction.external_ref,
    }


def _notice_language() -> str:
    """The language the notice is written in: the issuing officer's page language (one of LANGUAGES)."""
    active = translation.get_language() or settings.LANGUAGE_CODE
    codes = [code for code, _name in settings.LANGUAGES]
    return active if active in codes else active.split("-")[0] if active.split("-")[0] in codes else codes[0]


def statutory_text(language: str) -> str:
    """The lender's statutory wording in ``language`` (ADVERSE_ACTION_STATUTORY_TEXT_FR for French), else in
    English (ADVERSE_ACTION_STATUTORY_TEXT): counsel words each for the lender's jurisdiction."""
    if language != "en":
        return getattr(settings, f"ADVERSE_ACTION_STATUTORY_TEXT_{language.upper()}", "") or (
            settings.ADVERSE_ACTION_STATUTORY_TEXT
        )
    return settings.ADVERSE_ACTION_STATUTORY_TEXT


def issue_notice(
    *, user: AbstractBaseUser, prediction: Prediction, applicant_name: str, applicant_address: str
) -> AdverseActionNotice:
    """Produce and keep a notice for a final decline; raises NotAllowed, NotFinalDecline or InvalidNotice."""
    if not permissions.can_issue_notice(user, prediction):
        raise NotAllowed("Only the officer whose case it is can produce its notice.")
    errors = applicant_errors(applicant_name=applicant_name, applicant_address=applicant_address)
    if errors:
        raise InvalidNotice(errors)
    with transaction.atomic():
        lock_reviews_of(prediction)  # no review can change the outcome while the notice is written
        final = _final_decline(prediction)
        content = notice_content(
            prediction=prediction, applicant_name=applicant_name, applicant_address=applicant_address
        )
        # Rendered in the notice's language; kept as rendered, so a later view in another language shows
        # the letter the applicant was given.
        with translation.override(content["language"]):
            body = render_to_string(LETTER_TEMPLATE, {"notice": content})
        notice = AdverseActionNotice.objects.create(
            prediction=prediction,
            review=final.review,
            user=user,
            content=content,
            body_html=body,
            sha256=hashlib.sha256(body.encode("utf-8")).hexdigest(),
        )
        return notice


def _final_decline(prediction: Prediction) -> FinalDecision:
    final = final_decision_of(prediction)
    if not final.is_decline:
        raise NotFinalDecline(
            f"Decision #{prediction.pk} is not a final decline "
            f"(final outcome: {final.label}): no adverse-action notice applies."
        )
    return final
