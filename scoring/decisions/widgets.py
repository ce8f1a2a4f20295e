"""Form widgets rendered in Python where Django's templates are a page's main cost.

Django renders every <option> of a select through a template. For the history filter
(an officer list, model versions, bands, decisions) that was about half of the page's
time at 10 million decisions (bench/README.md); the same HTML built with format_html
costs a fraction of it. Only plain, single-choice selects without option groups are
built here; anything else is rendered by Django as usual.
"""

from __future__ import annotations

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join


class FastSelect(forms.Select):
    def render(self, name, value, attrs=None, renderer=None):
        # A comprehension, not list(): list() asks a ModelChoiceIterator its length, which is a COUNT query.
        choices = [choice for choice in self.choices]
        if self.allow_multiple_selected or any(isinstance(label, list | tuple) for _, label in choices):
            return super().render(name, value, attrs, renderer)
        selected = set(self.format_value(value))
        final_attrs = self.build_attrs(self.attrs, {**(attrs or {}), "name": name})
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (option, " selected" if str(option) in selected else "", label)
                for option, label in ((self._value(v), label) for v, label in choices)
            ),
        )
        return format_html("<select{}>{}</select>", flatatt(final_attrs), options)

    @staticmethod
    def _value(value: object) -> str:
        """A choice value as HTML gets it (ModelChoiceIteratorValue wraps the model's key)."""
        value = getattr(value, "value", value)
        return "" if value is None else str(value)
