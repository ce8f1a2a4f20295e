"""The notice form: the applicant's name and postal address as the notice will print them."""

from __future__ import annotations

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from scoring.decisions.forms import ErrorsReadWithFields, add_errors
from scoring.notices import services


def _lines_help() -> str:
    count = services.ADDRESS_MAX_LINES
    return ngettext(
        "One address line per line, at most %(count)s line.",
        "One address line per line, at most %(count)s lines.",
        count,
    ) % {"count": count}


class NoticeForm(ErrorsReadWithFields, forms.Form):
    applicant_name = forms.CharField(
        label=_("Applicant's name"),
        max_length=services.NAME_MAX_LENGTH,
        help_text=_("As it should appear on the letter."),
    )
    applicant_address = forms.CharField(
        label=_("Applicant's postal address"),
        max_length=services.ADDRESS_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=lazy(_lines_help, str)(),
        strip=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.widget.attrs["aria-describedby"] = f"{self[name].auto_id}_help"

    def clean(self):
        data = super().clean()
        errors = services.applicant_errors(
            applicant_name=data.get("applicant_name", ""), applicant_address=data.get("applicant_address", "")
        )
        # A field already refused (required, too long) keeps that one message.
        self.add_notice_errors({field: messages for field, messages in errors.items() if field not in self.errors})
        return data

    def add_notice_errors(self, errors: dict[str, list[str]]) -> None:
        add_errors(self, errors)
