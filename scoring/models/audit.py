"""The log of audit exports."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class ExportLog(models.Model):
    """One CSV export of the decision history: who, when, which filter, how many rows. Never changed."""

    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT, related_name="+"
    )
    filters = models.JSONField(verbose_name=_("filters"), default=dict, blank=True)
    row_count = models.PositiveBigIntegerField(
        verbose_name=_("row count"),
    )
    # The export covers predictions with id <= this, so the row count above is exactly what was sent.
    last_prediction_id = models.BigIntegerField(verbose_name=_("last prediction id"), null=True, blank=True)

    class Meta:
        verbose_name = _("export log")
        verbose_name_plural = _("export logs")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["-created_at", "-id"], name="exportlog_recent")]

    def __str__(self) -> str:
        return gettext("Export %(pk)s by %(user)s (%(rows)s rows)") % {
            "pk": self.pk,
            "user": self.user,
            "rows": self.row_count,
        }
