"""The backtest request form: a model version, an optional credit policy version and a period of whole days."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from scoring.backtests.services import TESTABLE
from scoring.models import ModelVersion, PolicyVersion
from scoring.policy.simulation_forms import ServiceErrorsForm


class BacktestForm(ServiceErrorsForm):
    model_version = forms.ModelChoiceField(
        label=_("Model version"),
        queryset=ModelVersion.objects.filter(status__in=TESTABLE).order_by("-created_at", "-id"),
        help_text=_("Validated, active or retired versions: their threshold, refer band and risk bands are used."),
    )
    policy_version = forms.ModelChoiceField(
        label=_("Credit policy version"),
        queryset=PolicyVersion.objects.order_by("-created_at", "-id"),
        required=False,
        empty_label=_("The policy active when the backtest runs"),
        help_text=_("A draft or submitted version to try with the model, or leave the active policy."),
    )
    date_from = forms.DateField(
        label=_("From"), help_text=_("First day, included."), widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"),
        help_text=_("Last day, included (at most two years)."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def request(self) -> dict[str, object]:
        """The cleaned fields as the service takes them."""
        return {
            name: self.cleaned_data.get(name) for name in ("model_version", "policy_version", "date_from", "date_to")
        }
