"""Backtests: a model version (and a credit policy) replayed on the stored decisions of a period."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from scoring.models.policy import PolicyVersion
from scoring.models.versions import ModelVersion


class Backtest(models.Model):
    """One request to score the recorded features of a period's decisions with a model version, apply a credit
    policy, and compare with what was decided live. Kept for good (no delete); its state, progress and report
    change while a worker runs it. ``heartbeat_at`` moves with every chunk: a running backtest whose heartbeat
    stopped had a worker that died, and can be run again."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="backtests", verbose_name=_("model version")
    )
    policy_version = models.ForeignKey(
        PolicyVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="backtests",
        verbose_name=_("credit policy version"),
        help_text=_("The policy to apply; empty means the policy active when the backtest runs."),
    )
    applied_policy = models.ForeignKey(
        PolicyVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("policy applied"),
        help_text=_("The policy the run applied (none: the model alone decided)."),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rerun_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reruns", verbose_name=_("rerun of")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    date_from = models.DateTimeField(verbose_name=_("decisions from"))
    date_to = models.DateTimeField(verbose_name=_("decisions before"))
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last progress"))
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_total = models.PositiveIntegerField(default=0, verbose_name=_("decisions in the period"))
    rows_done = models.PositiveIntegerField(default=0, verbose_name=_("decisions replayed"))
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("backtest")
        verbose_name_plural = _("backtests")
        indexes = [models.Index(fields=["model_version", "-created_at", "-id"], name="backtest_version_recent")]

    def __str__(self) -> str:
        return f"Backtest {self.pk} of {self.model_version} ({self.get_state_display()})"
