"""Forms of the signed-in user's own account: the language of their pages."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.models import Profile

BROWSER_LANGUAGE = ""


class ProfileForm(forms.ModelForm):
    language = forms.ChoiceField(
        label=_("Language of your pages"),
        choices=[(BROWSER_LANGUAGE, _("Your browser's language")), *settings.LANGUAGES],
        required=False,
        help_text=_("Adverse-action notices you issue are written in this language and kept as issued."),
    )

    class Meta:
        model = Profile
        fields = ["language"]


class LanguageForm(forms.Form):
    """The top bar's switcher: one of the app's languages, and the page to go back to."""

    language = forms.ChoiceField(choices=settings.LANGUAGES)
    next = forms.CharField(required=False, max_length=2000)
