"""Drift reports: one per model version and day."""

from __future__ import annotations

from django.db import models

from scoring.models.versions import ModelVersion


class DriftReportQuerySet(models.QuerySet):
    def newest(self) -> DriftReport | None:
        """The latest report, whichever version it is for."""
        return self.select_related("model_version").order_by("-created_at", "-id").first()


class DriftReport(models.Model):
    """PSI of each feature and of the score between a version's training reference and a window of decisions,
    and the fairness tables of the same run.

    Written by the daily drift task or `manage.py drift_report`; never changed.
    """

    created_at = models.DateTimeField(auto_now_add=True)
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="drift_reports")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    observed_count = models.PositiveIntegerField(help_text="Decisions in the window that were compared.")
    features = models.JSONField(default=list, help_text="One entry per feature: name, psi, level, bins.")
    score = models.JSONField(default=dict, blank=True, help_text="The same for the predicted probability.")
    score_psi = models.FloatField(null=True, blank=True)
    max_psi = models.FloatField(null=True, blank=True)
    watch_count = models.PositiveSmallIntegerField(default=0)
    act_count = models.PositiveSmallIntegerField(default=0)
    fairness = models.JSONField(
        default=dict,
        blank=True,
        help_text="Approval rates and adverse impact ratios by group, computed in the same run.",
    )

    objects = DriftReportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="driftreport_recent"),
            models.Index(fields=["model_version", "-created_at"], name="driftreport_version_recent"),
        ]

    def __str__(self) -> str:
        return f"Drift report {self.pk} for {self.model_version_id} ({self.created_at:%Y-%m-%d %H:%M})"

    def psi_by_feature(self) -> dict[str, float]:
        return {f["name"]: f["psi"] for f in self.features if f.get("psi") is not None}
