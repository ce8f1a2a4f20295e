"""Adverse-action notices: what an applicant was told about a declined application, kept exactly as issued."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from scoring.models.decisions import Prediction, Review
from scoring.models.fields import JSONTextField


class NoticeIsFinal(Exception):
    """A notice, once issued, is never changed or deleted."""


class AdverseActionNotice(models.Model):
    """One notice issued for a declined decision: who, when, and the exact text. Never changed.

    ``content`` holds every field shown (lender, date, applicant, action, reasons, statutory text)
    and ``body_html`` the notice as rendered then; a later view or download shows that text, not a
    new rendering, and ``sha256`` (of ``body_html``) proves it is the same.
    """

    created_at = models.DateTimeField(auto_now_add=True)
    prediction = models.ForeignKey(Prediction, on_delete=models.PROTECT, related_name="notices")
    # The review whose final decision was the decline, if the decline was decided in review.
    review = models.ForeignKey(Review, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    content = JSONTextField(help_text=_("The notice's fields as issued."))
    body_html = models.TextField(help_text=_("The notice as rendered when issued."))
    sha256 = models.CharField(max_length=64, help_text=_("sha256 of body_html (UTF-8)."))

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["prediction", "-created_at", "-id"], name="notice_prediction_recent")]

    def __str__(self) -> str:
        return f"Adverse-action notice {self.pk} for decision {self.prediction_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise NoticeIsFinal("An issued notice cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise NoticeIsFinal("An issued notice cannot be deleted.")
