"""The simulation request form: the last N days, or a date range (the service checks the window)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from scoring.policy.simulation import MAX_DAYS


class ServiceErrorsForm(forms.Form):
    """A form whose service raises errors by field: they go next to their field (or above the form), marked for
    screen readers."""

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        """The service's errors by field; an error of no field of the form goes above it."""
        for name, messages in errors.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)
        self._mark_invalid()

    def full_clean(self):
        super().full_clean()
        self._mark_invalid()

    def _mark_invalid(self) -> None:
        for name in self.errors:
            if name in self.fields:  # screen readers announce each error with its field
                attrs = self.fields[name].widget.attrs
                attrs["aria-invalid"] = "true"
                attrs["aria-describedby"] = f"{self[name].auto_id}_error"


class SimulationForm(ServiceErrorsForm):
    days = forms.IntegerField(
        label=_("Last days"),
        required=False,
        min_value=1,
        max_value=MAX_DAYS,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    date_from = forms.DateField(
        label=_("From"),
        required=False,
        help_text=_("First day, included."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = forms.DateField(
        label=_("To"),
        required=False,
        help_text=_("Last day, included."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["days"].help_text = gettext(
            "Decisions of the last 1 to %(max)s days, up to now. Or leave empty and give a date range."
        ) % {"max": MAX_DAYS}

    def window(self) -> dict[str, object]:
        """The cleaned window as the service takes it."""
        return {name: self.cleaned_data.get(name) for name in ("days", "date_from", "date_to")}
