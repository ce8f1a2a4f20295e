"""What happened to each decided application: the loan outcomes lenders report, append-only."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Max, QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from scoring.models.decisions import Prediction


class LoanOutcomeQuerySet(models.QuerySet):
    def current(self) -> QuerySet:
        """The standing outcome of each decision: its latest row (a correction is a later row that supersedes)."""
        latest = self.values("prediction_id").annotate(latest=Max("id")).values("latest")
        return self.filter(id__in=latest)


class LoanOutcome(models.Model):
    """One report of what happened to a decided application. Never changed: a correction is a new row
    that names the one it supersedes, with who made it and why."""

    class Outcome(models.TextChoices):
        REPAID = "repaid", _("Repaid")
        DEFAULTED = "defaulted", _("Defaulted")
        WRITTEN_OFF = "written_off", _("Written off")
        WITHDRAWN = "withdrawn", _("Withdrawn / not booked")

    class Source(models.TextChoices):
        UPLOAD = "upload", _("CSV upload")
        API = "api", _("API")
        COMMAND = "command", _("Management command")

    # Outcomes that count as a default in realised performance; "withdrawn" means the loan was never booked.
    BAD = (Outcome.DEFAULTED, Outcome.WRITTEN_OFF)

    prediction = models.ForeignKey(
        Prediction, verbose_name=_("prediction"), on_delete=models.PROTECT, related_name="outcomes", db_index=False
    )
    external_ref = models.CharField(
        verbose_name=_("external ref"), max_length=100, blank=True, help_text=_("The reference the lender reported.")
    )
    outcome = models.CharField(verbose_name=_("outcome"), max_length=12, choices=Outcome.choices)
    observed_on = models.DateField(verbose_name=_("observed on"), help_text=_("The date the outcome was observed."))
    days_past_due = models.PositiveIntegerField(verbose_name=_("days past due"), null=True, blank=True)
    source = models.CharField(verbose_name=_("source"), max_length=10, choices=Source.choices)
    source_ref = models.CharField(
        verbose_name=_("source ref"), max_length=100, blank=True, help_text=_("Upload id, API request or file name.")
    )
    supersedes = models.OneToOneField(
        "self",
        verbose_name=_("supersedes"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="superseded_by",
    )
    reason = models.TextField(verbose_name=_("reason"), blank=True, help_text=_("Why a correction was made."))
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )

    objects = LoanOutcomeQuerySet.as_manager()

    class Meta:
        verbose_name = _("loan outcome")
        verbose_name_plural = _("loan outcomes")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["prediction", "-id"], name="outcome_prediction_latest")]

    def __str__(self) -> str:
        return gettext("Outcome of decision %(pk)s: %(outcome)s") % {
            "pk": self.prediction_id,
            "outcome": self.get_outcome_display(),
        }

    @property
    def defaulted(self) -> bool:
        return self.outcome in self.BAD

    @property
    def booked(self) -> bool:
        return self.outcome != self.Outcome.WITHDRAWN


class OutcomeUpload(models.Model):
    """One set of loan outcomes taken in (a CSV file, an API request or a command run) that stored at least one
    row: who, when, what (file name and sha256 of its bytes, or of the request body) and how many rows did what.
    Its id is the ``source_ref`` of the outcome rows it stored. Never changed."""

    created_at = models.DateTimeField(_("received"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    source = models.CharField(_("channel"), max_length=10, choices=LoanOutcome.Source.choices)
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    sha256 = models.CharField(_("sha256"), max_length=64)
    row_count = models.PositiveIntegerField(_("rows"))
    stored = models.PositiveIntegerField(_("new outcomes"))
    corrected = models.PositiveIntegerField(_("corrections"))
    unchanged = models.PositiveIntegerField(_("unchanged"))
    # The API's Idempotency-Key, if the request sent one: the same key from the same user replays this answer.
    idempotency_key = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("outcome upload")
        verbose_name_plural = _("outcome uploads")
        indexes = [models.Index(fields=["-created_at", "-id"], name="outcomeupload_recent")]
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="outcomeupload_one_per_key",
            )
        ]

    def __str__(self) -> str:
        return f"Outcome upload {self.pk} ({self.get_source_display()})"
