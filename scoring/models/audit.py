"""The log of audit exports."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ExportLog(models.Model):
    """One CSV export of the decision history: who, when, which filter, how many rows. Never changed."""

    created_at = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    filters = models.JSONField(default=dict, blank=True)
    row_count = models.PositiveBigIntegerField()
    # The export covers predictions with id <= this, so the row count above is exactly what was sent.
    last_prediction_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["-created_at", "-id"], name="exportlog_recent")]

    def __str__(self) -> str:
        return f"Export {self.pk} by {self.user} ({self.row_count} rows)"
