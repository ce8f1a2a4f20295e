"""Drift reports: one per model version and day."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

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

    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    model_version = models.ForeignKey(
        ModelVersion, verbose_name=_("model version"), on_delete=models.PROTECT, related_name="drift_reports"
    )
    window_start = models.DateTimeField(
        verbose_name=_("window start"),
    )
    window_end = models.DateTimeField(
        verbose_name=_("window end"),
    )
    observed_count = models.PositiveIntegerField(
        verbose_name=_("observed count"), help_text=_("Decisions in the window that were compared.")
    )
    features = models.JSONField(
        verbose_name=_("features"), default=list, help_text=_("One entry per feature: name, psi, level, bins.")
    )
    score = models.JSONField(
        verbose_name=_("score"), default=dict, blank=True, help_text=_("The same for the predicted probability.")
    )
    score_psi = models.FloatField(verbose_name=_("score psi"), null=True, blank=True)
    max_psi = models.FloatField(verbose_name=_("max psi"), null=True, blank=True)
    watch_count = models.PositiveSmallIntegerField(verbose_name=_("watch count"), default=0)
    act_count = models.PositiveSmallIntegerField(verbose_name=_("act count"), default=0)
    fairness = models.JSONField(
        verbose_name=_("fairness"),
        default=dict,
        blank=True,
        help_text=_("Approval rates and adverse impact ratios by group, computed in the same run."),
    )

    objects = DriftReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("drift report")
        verbose_name_plural = _("drift reports")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="driftreport_recent"),
            models.Index(fields=["model_version", "-created_at"], name="driftreport_version_recent"),
        ]

    def __str__(self) -> str:
        return gettext("Drift report %(pk)s for %(version)s (%(when)s)") % {
            "pk": self.pk,
            "version": self.model_version_id,
            "when": f"{self.created_at:%Y-%m-%d %H:%M}",
        }

    def psi_by_feature(self) -> dict[str, float]:
        return {f["name"]: f["psi"] for f in self.features if f.get("psi") is not None}
