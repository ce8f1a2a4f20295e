"""Shadow challengers: which validated version scores live decisions beside the champion, and its scores."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from scoring.models.choices import Decision
from scoring.models.decisions import Prediction
from scoring.models.versions import ModelVersion


class ChallengerAssignmentQuerySet(models.QuerySet):
    def current_version_id(self) -> int | None:
        """The version scoring in shadow now: the one the latest row started, or None after a stop."""
        latest = self.order_by("-id").values_list("action", "version_id").first()
        if latest is None or latest[0] != ChallengerAssignment.Action.START:
            return None
        return latest[1]


class ChallengerAssignment(models.Model):
    """One start or stop of a shadow challenger, never changed: the history is the rows in order.

    Each row names the row it follows (``previous``, unique), so the history is one chain: two model
    administrators changing the challenger at the same moment cannot both write after the same row,
    and at most one challenger is ever running.
    """

    class Action(models.TextChoices):
        START = "start", _("Started")
        STOP = "stop", _("Stopped")

    version = models.ForeignKey(
        ModelVersion,
        on_delete=models.PROTECT,
        related_name="challenger_assignments",
        verbose_name=_("model version"),
    )
    action = models.CharField(_("action"), max_length=5, choices=Action.choices)
    previous = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="next",
        verbose_name=_("previous change"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("by"),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    objects = ChallengerAssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("challenger change")
        verbose_name_plural = _("challenger changes")
        constraints = [
            # Only the first row of the chain has no previous row.
            models.UniqueConstraint(
                fields=["action"], condition=Q(previous__isnull=True), name="one_first_challenger_assignment"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.version} ({self.created_at:%Y-%m-%d %H:%M})"


class ShadowScore(models.Model):
    """A challenger's score of a live decision, computed after the decision was recorded; never shown to
    officers and never changing the decision. One per (decision, challenger version)."""

    prediction = models.ForeignKey(
        Prediction, on_delete=models.PROTECT, related_name="shadow_scores", db_index=False, verbose_name=_("decision")
    )
    model_version = models.ForeignKey(
        ModelVersion,
        on_delete=models.PROTECT,
        related_name="shadow_scores",
        db_index=False,
        verbose_name=_("challenger version"),
    )
    probability = models.FloatField(_("probability of default"))
    decision = models.CharField(_("challenger's decision"), max_length=10, choices=Decision.choices)
    threshold = models.FloatField(_("challenger's decline threshold"))
    refer_lower = models.FloatField(_("challenger's refer band start"), null=True, blank=True)
    risk_band = models.CharField(_("risk band"), max_length=10)
    created_at = models.DateTimeField(_("scored at"), auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("shadow score")
        verbose_name_plural = _("shadow scores")
        constraints = [
            # Also the index of the comparison page, which reads one version's scores.
            models.UniqueConstraint(fields=["model_version", "prediction"], name="one_shadow_score_per_version"),
        ]

    def __str__(self) -> str:
        return f"Shadow score of decision {self.prediction_id} by version {self.model_version_id}: {self.decision}"
