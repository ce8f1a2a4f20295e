"""Filter forms of the auditor pages: they turn query strings into selector filters, or say what is wrong."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts import permissions
from accounts.models import AccessEvent
from accounts.names import display_name
from scoring.audit.selectors import AccessEventFilters
from scoring.decisions.forms import DateRangeMixin
from scoring.decisions.selectors import PredictionFilters, decode_cursor
from scoring.decisions.widgets import FastSelect
from scoring.models import Channel, Decision, ModelVersion

YES_NO = [("", _("Any")), ("yes", _("Yes")), ("no", _("No"))]
ORDER = [("newest", _("Newest first")), ("oldest", _("Oldest first"))]


def _blank(choices) -> list[tuple[str, str]]:
    return [("", _("Any")), *choices]


class _CursorMixin(DateRangeMixin):
    def clean_cursor(self):
        cursor = self.cleaned_data.get("cursor") or ""
        if cursor and decode_cursor(cursor) is None:
            raise forms.ValidationError(gettext("This page link is not valid; start again from the first page."))
        return cursor


class PredictionFilterForm(_CursorMixin, forms.Form):
    date_from = forms.DateField(required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    officer = forms.ModelChoiceField(queryset=None, required=False, empty_label=_("Any"), label=_("Officer"))
    model_version = forms.ModelChoiceField(
        queryset=None, required=False, empty_label=_("Any"), label=_("Model version")
    )
    decision = forms.ChoiceField(choices=_blank(Decision.choices), required=False, label=_("Model decision"))
    final_decision = forms.ChoiceField(choices=_blank(Decision.choices), required=False, label=_("Final outcome"))
    risk_band = forms.ChoiceField(choices=(), required=False, label=_("Risk band"))
    channel = forms.ChoiceField(choices=_blank(Channel.choices), required=False, label=_("Channel"))
    batch_job = forms.IntegerField(required=False, min_value=1, label=_("Batch job #"))
    external_ref = forms.CharField(required=False, max_length=100, label=_("External reference"))
    overridden = forms.ChoiceField(choices=YES_NO, required=False, label=_("Overridden"))
    order = forms.ChoiceField(choices=ORDER, required=False, label=_("Sort"))
    cursor = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["officer"].queryset = (
            get_user_model()
            .objects.filter(groups__name=permissions.OFFICER)
            .only("id", "username", "first_name", "last_name")
            .order_by("username")
        )
        self.fields["officer"].label_from_instance = display_name  # as every page names a person
        self.fields["model_version"].queryset = ModelVersion.objects.only("id", "name", "sha256").order_by(
            "-created_at"
        )
        bands = []
        for risk_bands in ModelVersion.objects.values_list("metadata__risk_bands", flat=True):
            for band in risk_bands or []:
                name = str(band.get("name", "")) if isinstance(band, dict) else ""
                if name and name not in bands:
                    bands.append(name)
        self.fields["risk_band"].choices = _blank([(b, b) for b in bands])
        use_fast_selects(self)

    def filters(self) -> PredictionFilters:
        d = self.cleaned_data
        return PredictionFilters(
            date_from=d.get("date_from"),
            date_to=d.get("date_to"),
            user_id=d["officer"].pk if d.get("officer") else None,
            model_version_id=d["model_version"].pk if d.get("model_version") else None,
            decision=d.get("decision") or None,
            final_decision=d.get("final_decision") or None,
            risk_band=d.get("risk_band") or None,
            channel=d.get("channel") or None,
            batch_job_id=d.get("batch_job"),
            external_ref=(d.get("external_ref") or "").strip() or None,
            overridden={"yes": True, "no": False}.get(d.get("overridden") or ""),
        )

    @property
    def oldest_first(self) -> bool:
        return self.cleaned_data.get("order") == "oldest"


class AccessEventFilterForm(_CursorMixin, forms.Form):
    date_from = forms.DateField(required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(choices=_blank(AccessEvent.Kind.choices), required=False, label=_("Event"))
    username = forms.CharField(required=False, max_length=150, label=_("Username"))
    cursor = forms.CharField(required=False, widget=forms.HiddenInput)

    def filters(self) -> AccessEventFilters:
        d = self.cleaned_data
        return AccessEventFilters(
            date_from=d.get("date_from"),
            date_to=d.get("date_to"),
            kind=d.get("kind") or None,
            username=(d.get("username") or "").strip() or None,
        )


class LiveAtForm(forms.Form):
    at = forms.DateTimeField(
        label=_("Which model was live at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
    )


def use_fast_selects(form: forms.Form) -> None:
    """Plain selects rendered in Python (scoring/decisions/widgets.py): the filter form is on every history page."""
    for field in form.fields.values():
        if type(field.widget) is forms.Select:
            field.widget = FastSelect(attrs=field.widget.attrs)
            field.widget.choices = field.choices


class PolicyLiveAtForm(forms.Form):
    at = forms.DateTimeField(
        label=_("Which credit policy was live at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S"),
        input_formats=LiveAtForm.base_fields["at"].input_formats,
    )
