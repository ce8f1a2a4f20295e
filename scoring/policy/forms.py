"""Forms of the credit policy editor: a rule with its conditions, checked against the active model as one
unit before anything is saved, and the import of a ZEN decision model."""

from __future__ import annotations

import json

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from scoring.engine.policy import Condition, Rule
from scoring.exceptions import ModelUnavailable
from scoring.files.uploads import megabytes
from scoring.lifecycle import registry as model_registry
from scoring.models import PolicyCondition, PolicyRule, PolicyVersion
from scoring.policy import presentation, services

NO_ACTIVE_MODEL = _(
    "No model is active: a rule is checked against the active model's fields, so a model administrator must "
    "activate one first."
)

TEST_HELP = _(
    "A ZEN expression on the field's value, for example: > 20000, < 18, [6..72] (6 to 72 inclusive), "
    '"car (new)" (exactly this choice), "car (new)", "car (used)" (any of these), '
    'not in ["rent"] (anything but). Choices are written as the model takes them, in double quotes.'
)


def active_model():
    """The active model (LoadedModel) and its ModelVersion; raises ModelUnavailable when none is active."""
    active = model_registry.get_active()
    return active.model, active.version


class RuleForm(forms.ModelForm):
    class Meta:
        model = PolicyRule
        fields = ["version", "position", "code", "name", "statement", "statement_fr", "outcome", "stage", "legal_basis"]
        widgets = {
            "statement": forms.Textarea(attrs={"rows": 2, "cols": 80}),
            "statement_fr": forms.Textarea(attrs={"rows": 2, "cols": 80, "lang": "fr"}),
            "legal_basis": forms.Textarea(attrs={"rows": 3, "cols": 80}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "version" in self.fields:
            # Rules are added to drafts only; a submitted version is what it is for good.
            self.fields["version"].queryset = PolicyVersion.objects.filter(status=PolicyVersion.Status.DRAFT)
            self.fields["version"].help_text = _(
                "A draft version; submitted, active and retired versions do not change."
            )

    def clean(self):
        data = super().clean()
        version = data.get("version") or (self.instance.version if self.instance.version_id else None)
        if (
            version is not None
            and not PolicyVersion.objects.filter(pk=version.pk, status=PolicyVersion.Status.DRAFT).exists()
        ):
            raise ValidationError(
                gettext("%(version)s is no longer a draft: its rules cannot change.") % {"version": version.label}
            )
        return data


class ConditionForm(forms.ModelForm):
    field = forms.ChoiceField(
        label=_("Field"),
        help_text=_("What the condition tests."),
        error_messages={"invalid_choice": "The active model has no field %(value)s: choose one from the list."},
    )

    class Meta:
        model = PolicyCondition
        fields = ["field", "test"]
        help_texts = {"test": TEST_HELP}
        widgets = {"test": forms.TextInput(attrs={"size": 40, "placeholder": "> 20000"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        try:
            choices = presentation.field_choices(active_model()[0])
        except ModelUnavailable:
            choices = []
        known = {name for _, group in choices for name, _ in group}
        current = self.instance.field if self.instance.pk else ""
        if current and current not in known:
            # Kept, so the check can name it, rather than silently replaced by the first choice.
            choices.append((gettext("Not in the active model"), [(current, current)]))
        self.fields["field"].choices = [("", gettext("Choose a field")), *choices]
        # A tabular inline names its columns in the table head, not in labels: name each control for screen readers.
        self.fields["field"].widget.attrs["aria-label"] = gettext("Field the condition tests")
        self.fields["test"].widget.attrs["aria-label"] = gettext("Test on the field's value")


class ConditionFormSet(BaseInlineFormSet):
    """The rule's conditions; their clean checks the rule as a whole (rule form values plus these conditions)
    against the active model, so an invalid rule is refused before either is saved."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:  # a checkbox in a table cell, without a label of its own
            form.fields["DELETE"].widget.attrs["aria-label"] = gettext("Delete this condition")

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        rule = self.instance  # the rule form's values are on it already (ModelForm._post_clean)
        if not rule.code or not rule.version_id:
            return  # the rule form names what is missing
        conditions = tuple(
            Condition(field=f.cleaned_data["field"], test=f.cleaned_data["test"])
            for f in self.forms
            if f.cleaned_data and not self._should_delete_form(f)
        )
        try:
            model, _ = active_model()
        except ModelUnavailable as exc:
            raise ValidationError(NO_ACTIVE_MODEL) from exc
        draft = Rule(
            code=rule.code,
            name=rule.name,
            statement=rule.statement,
            outcome=rule.outcome,
            stage=rule.stage,
            conditions=conditions,
            legal_basis=rule.legal_basis,
            statement_fr=rule.statement_fr,
        )
        found = [problem for found in services.problems([draft], model).values() for problem in found]
        if PolicyRule.objects.filter(version_id=rule.version_id, code=rule.code).exclude(pk=rule.pk).exists():
            found.insert(
                0, gettext("Another rule of this version already has the code %(code)s.") % {"code": rule.code}
            )
        if found:
            raise ValidationError(
                [
                    gettext("Rule %(code)s (%(name)s): %(problem)s")
                    % {"code": rule.code, "name": rule.name, "problem": problem}
                    for problem in found
                ]
            )


class ImportForm(forms.Form):
    name = forms.CharField(max_length=200, help_text=_("The new draft's name, e.g. 'Standard policy, spring update'."))
    file = forms.FileField(
        label=_("ZEN decision model (JSON)"),
        help_text=_("A .json file exported here or from a GoRules editor: one decision table, hit policy collect."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.POLICY_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise ValidationError(
                gettext("The file is %(size)s; a decision model may be at most %(limit)s.")
                % {"size": megabytes(upload.size), "limit": megabytes(limit)}
            )
        try:
            document = json.loads(upload.read().decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ValidationError(gettext("The file is not UTF-8 text: export the decision model as JSON.")) from exc
        except ValueError as exc:
            raise ValidationError(gettext("The file is not valid JSON: %(error)s.") % {"error": exc}) from exc
        if not isinstance(document, dict):
            raise ValidationError(
                gettext("The file holds JSON, but not a decision model (an object with nodes and edges).")
            )
        return document
