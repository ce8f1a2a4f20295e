"""Web forms: the application form built from the active model's schema, reviews and history filters."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from django import forms
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ValidationError
from django.utils import formats
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from scoring import display
from scoring.decisions import references
from scoring.decisions.widgets import FastSelect
from scoring.display.messages import engine_message
from scoring.engine import CATEGORICAL, INTEGER, Feature, InvalidApplication, LoadedModel
from scoring.engine.numbers import canonical_number_text
from scoring.engine.schema import unit_for
from scoring.models import Decision, Review

EXTERNAL_REF = "external_ref"
FORM_TOKEN = "form_token"  # noqa: S105 - a field name, not a secret
# Field names the form uses for itself; a schema feature may not take them.
# The decision the officer was shown as a duplicate and chose to score again anyway.
CONFIRM_DUPLICATE = "confirm_duplicate"
# The declined or referred decision whose offered terms this application takes up.
COUNTER_OFFER_OF = "counter_offer_of"
RESERVED_NAMES = frozenset({EXTERNAL_REF, FORM_TOKEN, CONFIRM_DUPLICATE, COUNTER_OFFER_OF, "csrfmiddlewaretoken"})
OTHER_SECTION = {"name": "", "label": _("Other details")}
MONITORING_SECTION = {"name": "monitoring", "label": _("Fairness monitoring (optional)")}


def describe_range(feature: Feature) -> str:
    """'Between 100 and 100,000 DM.' from a feature's min, max and unit ('At least 1 month.')."""

    def fmt(value: float, *, with_unit: bool = True) -> str:
        number = display.number(value)
        unit = unit_for(value, feature.unit) if with_unit else ""
        return f"{number} {unit}" if unit else number

    if feature.min is not None and feature.max is not None:
        return gettext("Between %(min)s and %(max)s.") % {
            "min": fmt(feature.min, with_unit=False),
            "max": fmt(feature.max),
        }
    if feature.min is not None:
        return gettext("At least %(min)s.") % {"min": fmt(feature.min)}
    if feature.max is not None:
        return gettext("At most %(max)s.") % {"max": fmt(feature.max)}
    return ""


def _field_for(feature: Feature) -> forms.Field:
    """One form field: text in, text out. The engine, not Django, decides what is valid."""
    label = f"{feature.label} ({feature.unit})" if feature.unit else feature.label
    # Protected fields sit in a fieldset that says once that they are not used in the decision.
    help_parts = [feature.help] if feature.help else []
    if feature.kind == CATEGORICAL:
        empty = gettext("Prefer not to say") if feature.protected else gettext("Choose…")
        if feature.choices:
            # Built in Python, not one template per <option>: the form page's main cost (bench/api.py --profile).
            widget: forms.Widget = FastSelect(choices=[("", empty), *feature.labelled_choices])
        else:
            widget = forms.TextInput(attrs={"maxlength": 200})
    else:
        help_range = describe_range(feature)
        if help_range:
            help_parts.append(help_range)
        # Text, not type="number": a number input shows and sends the browser's format, not the page's, and
        # drops what it cannot read; here "1 234,5" reaches the server as typed and is read by the page's
        # language (local_number_text), or refused next to the field.
        attrs: dict[str, object] = {"inputmode": "numeric" if feature.kind == INTEGER else "decimal"}
        attrs["autocomplete"] = "off"
        widget = forms.TextInput(attrs=attrs)
    if not feature.protected:
        widget.attrs["required"] = True
        widget.attrs["aria-required"] = "true"
    # required=False: blanks reach the engine, which reports them with its own message.
    return forms.CharField(label=label, help_text=" ".join(help_parts), required=False, widget=widget, strip=True)


def _group_separators() -> tuple[str, ...]:
    """The thousands separators a typed number may use in the active language.

    A language that groups with a space (French: the narrow no-break space) also takes the no-break space
    and the plain space people type; English takes its comma only.
    """
    separator = str(formats.get_format("THOUSAND_SEPARATOR"))
    spaces = ("\u202f", "\u00a0", " ")
    return spaces if separator in spaces else (separator,)


def local_number_text(text: str) -> str | None:
    """A number typed in the active language's way ("1 234,5" in French) as the engine's grammar writes it
    ("1234.5"); None when it is not one in that language (the field then says how to write it)."""
    return canonical_number_text(text, decimal=str(formats.get_format("DECIMAL_SEPARATOR")), groups=_group_separators())


def number_format_error(feature: Feature) -> str:
    """How to write a number in the active language, with examples in it."""
    if feature.kind == INTEGER:
        return _("Expected a whole number such as %(plain)s or %(grouped)s.") % {
            "plain": "2500",
            "grouped": display.integer(2500),
        }
    return _("Expected a number such as %(plain)s or %(grouped)s.") % {
        "plain": f"1234{formats.get_format('DECIMAL_SEPARATOR')}5",
        "grouped": display.number(1234.5, 1),
    }


@dataclass
class Section:
    """A fieldset of the application form."""

    name: str
    label: str
    protected: bool = False
    fields: list[forms.BoundField] = field(default_factory=list)


@dataclass
class _SectionLayout:
    """A section by field names, before the form's fields are bound."""

    name: str
    label: str
    protected: bool = False
    names: list[str] = field(default_factory=list)


def _valid_reference(value: str) -> None:
    problem = references.reference_problem(value)
    if problem:
        raise ValidationError(problem)


def add_errors(form: forms.Form, errors: dict[str, list[str]]) -> None:
    """A service's errors, by field, onto the form; an error of no field of the form goes above it."""
    for name, messages in errors.items():
        for message in messages:
            form.add_error(name if name in form.fields else None, message)


class ErrorsReadWithFields:
    """Screen readers announce each error with its field, not only in the summary."""

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["aria-invalid"] = "true"
                attrs["aria-describedby"] = " ".join(
                    filter(None, [f"{self[name].auto_id}_error", attrs.get("aria-describedby")])
                )


class FirstErrorFocused:
    """For a form far down a long page: the first invalid field takes focus (without JavaScript too), and
    screen readers hear each field's error with it."""

    def full_clean(self):
        super().full_clean()
        self._mark_invalid()

    def add_review_errors(self, errors: dict[str, list[str]]) -> None:
        add_errors(self, errors)
        self._mark_invalid()

    def _mark_invalid(self) -> None:
        first = True
        for name in self.fields:
            if name not in self.errors:
                continue
            attrs = self.fields[name].widget.attrs
            attrs["aria-invalid"] = "true"
            if first:
                attrs["autofocus"] = True
                first = False


class ApplicationForm(ErrorsReadWithFields, forms.Form):
    """An application for the model given; ``clean`` validates through the engine so errors match the API's."""

    external_ref = forms.CharField(
        label=_("Application reference"),
        required=False,
        max_length=references.MAX_LENGTH,
        # Checked as typed (a tab or line break at either end is refused, not trimmed away); the service trims spaces.
        strip=False,
        validators=[_valid_reference],
        help_text=_("Optional: your own reference for this application (for example from the loan system)."),
    )
    form_token = forms.CharField(widget=forms.HiddenInput, required=False)
    confirm_duplicate = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    counter_offer_of = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args, model: LoadedModel, policy_required: Mapping[str, str] | None = None, **kwargs):
        """``policy_required``: optional fields the live credit policy tests, with the message that says why."""
        super().__init__(*args, **kwargs)
        self.model = model
        self.policy_required = dict(policy_required or {})
        self.application = None
        self.duplicate_of = None
        clashes = RESERVED_NAMES & {f.name for f in model.all_fields}
        if clashes:
            raise ValueError(f"The model's schema uses reserved field names: {sorted(clashes)}")
        self.language = get_language() or "en"
        for feature in model.fields_in(self.language):
            self.fields[feature.name] = _field_for(feature)
        for name, why in self.policy_required.items():
            field = self.fields[name]
            field.widget.attrs.update({"required": True, "aria-required": "true"})
            field.help_text = " ".join(p for p in (field.help_text, why) if p)
        # Reference first, then the model's fields in the order the page shows them (section by section),
        # token and duplicate confirmation last: the error summary walks the fields, so it lists errors
        # in the order they appear.
        page_order = [name for section in self._section_layout() for name in section.names]
        self.order_fields([EXTERNAL_REF, *page_order, FORM_TOKEN, CONFIRM_DUPLICATE, COUNTER_OFFER_OF])
        for name, form_field in self.fields.items():
            if form_field.help_text:
                form_field.widget.attrs["aria-describedby"] = f"{self[name].auto_id}_help"

    def inputs(self) -> dict[str, object]:
        """What the officer entered for the model (blank optional fields left out), as text; numbers as the
        engine writes them ("1 234,5" typed in French is "1234.5")."""
        values = {}
        self.number_errors: dict[str, str] = {}
        for feature in self.model.all_fields:
            value = self.cleaned_data.get(feature.name, "")
            if value and feature.kind != CATEGORICAL and isinstance(value, str):
                canonical = local_number_text(value)
                if canonical is None:
                    self.number_errors[feature.name] = number_format_error(feature)
                else:
                    value = canonical
            if value != "" or not feature.protected:
                values[feature.name] = value
        return values

    def clean(self):
        cleaned = super().clean()
        inputs = self.inputs()
        try:
            self.application = self.model.validate(inputs, text=True)
        except InvalidApplication as exc:
            # A number not written the page's way is reported by that rule alone, not the engine's too.
            self.add_engine_errors({k: v for k, v in exc.errors.items() if k not in self.number_errors})
        for name, message in self.number_errors.items():
            self.add_error(name, message)
        for name, why in self.policy_required.items():
            if self.application is not None and self.application.protected.get(name) is None:
                self.add_error(name, why)
        return cleaned

    def warn_duplicate(self, existing) -> None:
        """Show the decision this application repeats; submitting again with it confirmed scores anyway."""
        self.duplicate_of = existing
        self.data = self.data.copy()
        self.data[CONFIRM_DUPLICATE] = str(existing.pk)

    def add_engine_errors(self, errors: dict[str, list[str]]) -> None:
        for name, messages in errors.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, engine_message(message))

    def sections(self) -> list[Section]:
        """Fields grouped as the schema's sections say; protected attributes in their own group last."""
        return [
            Section(name=s.name, label=s.label, protected=s.protected, fields=[self[n] for n in s.names])
            for s in self._section_layout()
        ]

    def _section_layout(self) -> list[_SectionLayout]:
        declared = {s["name"]: s for s in self.model.sections_in(self.language) if s.get("name")}
        groups = {name: _SectionLayout(name, str(section.get("label") or name)) for name, section in declared.items()}
        monitoring = _SectionLayout(
            MONITORING_SECTION["name"],
            str(declared.get(MONITORING_SECTION["name"], MONITORING_SECTION)["label"]),
            protected=True,
        )
        other = _SectionLayout(OTHER_SECTION["name"], OTHER_SECTION["label"])
        for feature in self.model.features:
            groups.get(feature.section, other).names.append(feature.name)
        monitoring.names.extend(feature.name for feature in self.model.protected)
        ordered = [g for name, g in groups.items() if g.names and name != MONITORING_SECTION["name"]]
        return [*ordered, *([other] if other.names else []), *([monitoring] if monitoring.names else [])]


# --- one-time form tokens ------------------------------------------------------------
# A token is issued with each blank form and kept in the session; the POST that
# scores consumes it and the decision is stored under it (Prediction.idempotency_key),
# so a refresh or a double click finds the decision already made instead of scoring again.

_SESSION_KEY = "application_form_tokens"
_MAX_OPEN_TOKENS = 20


def issue_form_token(session: SessionBase) -> str:
    token = secrets.token_urlsafe(24)
    open_tokens = [*session.get(_SESSION_KEY, []), token][-_MAX_OPEN_TOKENS:]
    session[_SESSION_KEY] = open_tokens
    return token


def form_token_is_open(session: SessionBase, token: str) -> bool:
    return bool(token) and token in session.get(_SESSION_KEY, [])


def consume_form_token(session: SessionBase, token: str) -> None:
    session[_SESSION_KEY] = [t for t in session.get(_SESSION_KEY, []) if t != token]


def idempotency_key_for(token: str) -> str:
    return f"web-form:{token}"


# --- reviews -----------------------------------------------------------------------


class ReviewForm(FirstErrorFocused, forms.Form):
    """Agree or override; the choices offered depend on the model's decision."""

    outcome = forms.ChoiceField(label=_("Your decision"), widget=forms.RadioSelect)
    reason_code = forms.ChoiceField(
        label=_("Reason"),
        required=False,
        choices=[("", _("Choose a reason…")), *[(v, lbl) for v, lbl in Review.ReasonCode.choices if v]],
    )
    justification = forms.CharField(
        label=_("Justification"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required for an override: what the model could not know (at least 10 characters)."),
    )

    def __init__(self, *args, decision: str, **kwargs):
        super().__init__(*args, **kwargs)
        if decision == Decision.REFER:
            choices = [
                (Review.Outcome.APPROVE, gettext("Approve the application")),
                (Review.Outcome.DECLINE, gettext("Decline the application")),
            ]
            self.fields["reason_code"].help_text = gettext("Required: why you approve or decline.")
            # services.record_review asks for a written basis for every decision on a referral.
            self.fields["justification"].help_text = gettext(
                "Required: what you based your decision on (at least 10 characters)."
            )
        elif decision == Decision.APPROVE:
            choices = [
                (Review.Outcome.AGREE, gettext("Agree: approve")),
                (Review.Outcome.DECLINE, gettext("Override: decline instead")),
            ]
        else:
            choices = [
                (Review.Outcome.AGREE, gettext("Agree: decline")),
                (Review.Outcome.APPROVE, gettext("Override: approve instead")),
            ]
        self.fields["outcome"].choices = choices

    def error_links(self) -> list[ErrorLink]:
        """The field errors in the order the form shows its fields, each pointing at its input."""
        links = []
        for name in self.fields:
            if name in self.errors:
                bound = self[name]
                # A radio group's own id labels nothing; its first radio is where focus lands.
                anchor = f"{bound.auto_id}_0" if isinstance(bound.field.widget, forms.RadioSelect) else bound.auto_id
                links.append(ErrorLink(anchor=anchor, label=str(bound.label), errors=" ".join(self.errors[name])))
        return links


class ApprovalForm(FirstErrorFocused, forms.Form):
    """A credit manager's answer to a change waiting for approval: the note is required either way."""

    note = forms.CharField(
        label=_("Note"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required: why you approve or reject this change. The officer and the auditors read it."),
        error_messages={"required": _("Write a note: why you approve or reject this change.")},
    )


class QueueFilterForm(forms.Form):
    """Whose referrals the queue shows: mine, nobody's, a named colleague's, or everyone's."""

    assignee = forms.ChoiceField(label=_("Taken by"), required=False)

    def __init__(self, *args, colleagues, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [
            ("all", gettext("Everyone")),
            ("me", gettext("Me")),
            ("unassigned", gettext("Nobody yet")),
            *[(str(u.pk), u.get_full_name() or u.get_username()) for u in colleagues],
        ]

    @property
    def chosen_assignee(self) -> str:
        if self.is_bound and self.is_valid():
            return self.cleaned_data["assignee"] or "all"
        return "all"


@dataclass(frozen=True)
class ErrorLink:
    """One line of an error summary: which field, what is wrong, where to jump."""

    anchor: str
    label: str
    errors: str


# --- history filters -----------------------------------------------------------------


class DateRangeMixin:
    """For filter forms with ``date_from`` and ``date_to``: an end before the start is an error on the end date."""

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", gettext("The end date is before the start date."))
        return cleaned


class PredictionFilterForm(DateRangeMixin, forms.Form):
    """Filters of "My decisions"; every field optional, bad values reported next to the field."""

    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    decision = forms.ChoiceField(label=_("Decision"), required=False, choices=[("", _("Any")), *Decision.choices])
    reviewed = forms.ChoiceField(
        label=_("Reviewed"),
        required=False,
        choices=[("", _("Any")), ("yes", _("Reviewed")), ("no", _("Not reviewed"))],
    )
    reference = forms.CharField(
        label=_("Reference"),
        required=False,
        max_length=references.MAX_LENGTH,
        help_text=_("The application reference or its beginning; capitals do not matter."),
    )
