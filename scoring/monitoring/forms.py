"""The monitoring page's choice of model version for its realised performance section."""

from __future__ import annotations

from collections.abc import Sequence

from django import forms
from django.utils.translation import gettext_lazy as _

from scoring.models import ModelVersion


class PerformanceVersionForm(forms.Form):
    """Which version's realised performance to show: one of those with decisions (its id, as the select sends)."""

    version = forms.TypedChoiceField(label=_("Model version"), coerce=int)

    def __init__(self, *args, versions: Sequence[ModelVersion], **kwargs):
        super().__init__(*args, **kwargs)
        self.versions = {version.pk: version for version in versions}
        self.fields["version"].choices = [(version.pk, version.label) for version in versions]
        self.fields["version"].error_messages["invalid_choice"] = _(
            "Choose one of the listed model versions: only versions with decisions have realised performance."
        )

    @property
    def chosen(self) -> ModelVersion | None:
        return self.versions.get(self.cleaned_data["version"]) if self.is_valid() else None
