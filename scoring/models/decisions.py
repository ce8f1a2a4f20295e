"""Decisions (one Prediction per scored application) and the reviews that follow them."""

from __future__ import annotations

import csv

from django.conf import settings
from django.db import models
from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from scoring.models.batch import BatchJob
from scoring.models.choices import Channel, Decision
from scoring.models.fields import JSONTextField
from scoring.models.policy import PolicyVersion
from scoring.models.versions import ModelVersion


class Prediction(models.Model):
    """One decision, written once with everything needed to explain it later; never changed."""

    # The foreign keys get no index of their own: each leads a composite index below, which serves
    # the same lookups, and every index is paid for on each of a batch's million inserts. The model
    # version and batch job are not foreign keys in the database either: rows of those tables can
    # never be deleted (scoring/append_only.py), which is what the key's check guarded against.
    created_at = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="predictions", db_index=False
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="predictions", db_index=False, db_constraint=False
    )
    inputs = JSONTextField(help_text=_("The inputs exactly as received (form or API; see input_line for batch rows)."))
    input_line = models.TextField(
        blank=True,
        default="",
        help_text=_("Batch rows: the CSV line exactly as in the file, read with the job's header."),
    )
    features = JSONTextField(help_text=_("The validated values the model scored."))
    protected = JSONTextField(default=dict, blank=True, help_text=_("Fairness monitoring fields, not scored."))
    probability = models.FloatField(help_text=_("Probability of default."))
    decision = models.CharField(max_length=10, choices=Decision.choices)
    threshold = models.FloatField()
    refer_lower = models.FloatField(null=True, blank=True)
    risk_band = models.CharField(max_length=10)
    reasons = JSONTextField(default=list, blank=True)
    external_ref = models.CharField(max_length=100, blank=True)
    batch_job = models.ForeignKey(
        BatchJob, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    row_number = models.PositiveIntegerField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    # The credit policy around the model: which version was live, the model's own decision, every rule that
    # fired (codes, policy order) and the one that changed the model's decision ("" when the model decided).
    policy_version = models.ForeignKey(
        PolicyVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    model_decision = models.CharField(max_length=10, choices=Decision.choices, blank=True, default="")
    policy_rules = JSONTextField(default=list, blank=True, help_text=_("Codes of the credit policy rules that fired."))
    deciding_rule = models.CharField(max_length=40, blank=True, default="")
    # The declined or referred decision whose "what could be offered" this application took up. Not a key in
    # the database, like model_version: predictions are never deleted (scoring/append_only.py).
    counter_offer_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="counter_offers",
        db_index=False,
        db_constraint=False,
        help_text=_("The decision this application is a counter-offer of."),
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="prediction_recent"),
            # "Counter-offers: #15" on a decision's pages. Partial: the few rows that have one, so the
            # millions of batch inserts pay nothing for it.
            models.Index(
                fields=["counter_offer_of"],
                name="prediction_counter_offers",
                condition=Q(counter_offer_of__isnull=False),
            ),
            models.Index(fields=["user", "-created_at", "-id"], name="prediction_user_recent"),
            # An officer's decisions of one kind, newest first: with a review filter on top, the page walks
            # only those instead of all the officer's rows (bench/history.py, 10M rows).
            models.Index(fields=["user", "decision", "-created_at", "-id"], name="prediction_user_decision"),
            models.Index(fields=["model_version", "-created_at", "-id"], name="prediction_version_recent"),
            models.Index(fields=["decision", "-created_at", "-id"], name="prediction_decision_recent"),
            models.Index(fields=["risk_band", "-created_at", "-id"], name="prediction_band_recent"),
            models.Index(fields=["channel", "-created_at", "-id"], name="prediction_channel_recent"),
            models.Index(fields=["external_ref"], name="prediction_external_ref"),
            # Auditor history filtered by batch job, newest first.
            models.Index(fields=["batch_job", "-created_at", "-id"], name="prediction_batch_recent"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["batch_job", "row_number"], name="one_prediction_per_batch_row"),
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="one_prediction_per_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        return f"Prediction {self.pk}: {self.decision} ({self.probability:.1%})"

    @property
    def given_inputs(self) -> dict[str, object]:
        """The inputs as received, by field name: the form's or API's JSON, or a batch row's CSV line
        read with its job's header (select_related("batch_job") when reading many)."""
        if self.input_line and self.batch_job_id:
            values = next(csv.reader([self.input_line]), [])
            return dict(zip(self.batch_job.columns, values, strict=False))
        return self.inputs


class ReviewQuerySet(models.QuerySet):
    def standing(self) -> models.QuerySet:
        """Reviews that count for the final outcome: needing no approval, or approved by a credit manager
        (presentation.DecisionView.final_decision says the same in Python)."""
        return self.filter(Q(needs_approval=False) | Q(approval__approved=True))

    def pending(self) -> models.QuerySet:
        """Reviews waiting for a credit manager's answer."""
        return self.filter(needs_approval=True, approval__isnull=True)


def final_decision_of(prediction: str = "pk", decision: str = "decision") -> Coalesce:
    """The final outcome of the decision whose id is the outer query's ``prediction`` field: the latest
    standing review's decision, else the decision itself (the outer query's ``decision`` field).

    The one database expression of it: the history filters annotate predictions with it, realised
    performance annotates loan outcomes (``prediction="prediction_id", decision="prediction__decision"``).
    """
    latest = Review.objects.standing().filter(prediction=OuterRef(prediction)).order_by("-created_at", "-id")
    return Coalesce(Subquery(latest.values("final_decision")[:1]), F(decision))


class Review(models.Model):
    """An officer's review of a decision: agreement or an override with its justification. Never edited."""

    class Outcome(models.TextChoices):
        AGREE = "agree", _("Agree with the model")
        APPROVE = "approve", _("Approve")
        DECLINE = "decline", _("Decline")

    class ReasonCode(models.TextChoices):
        NONE = "", "—"
        ADDITIONAL_INCOME = "additional_income", _("Verified additional income")
        COLLATERAL = "collateral", _("Additional collateral or guarantor")
        RELATIONSHIP = "relationship", _("Long, good relationship with the bank")
        DATA_ERROR = "data_error", _("Application data was wrong or incomplete")
        AFFORDABILITY = "affordability", _("Affordability concern")
        FRAUD_SUSPICION = "fraud_suspicion", _("Suspected fraud or misrepresentation")
        POLICY = "policy", _("Credit policy rule")
        OTHER = "other", _("Other (explain below)")

    prediction = models.ForeignKey(Prediction, on_delete=models.PROTECT, related_name="reviews")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    final_decision = models.CharField(max_length=10, choices=Decision.choices)
    overridden = models.BooleanField(default=False)
    # Beyond the officer's authority: the outcome counts only once a credit manager approves it.
    needs_approval = models.BooleanField(default=False)
    reason_code = models.CharField(max_length=30, choices=ReasonCode.choices, blank=True)
    justification = models.TextField(blank=True)

    objects = ReviewQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["prediction", "-created_at"], name="review_prediction_recent")]

    def __str__(self) -> str:
        return f"Review of prediction {self.prediction_id}: {self.get_outcome_display()}"


class ReferralAssignment(models.Model):
    """An officer taking an open referral; never changed: the latest row is the current assignee."""

    prediction = models.ForeignKey(Prediction, on_delete=models.PROTECT, related_name="assignments")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["prediction", "-created_at", "-id"], name="assignment_prediction_recent")]

    def __str__(self) -> str:
        return f"Referral {self.prediction_id} taken by {self.assignee_id}"


class OverrideApproval(models.Model):
    """A credit manager's answer to a review that needed approval: approved or rejected, with a note. Never edited."""

    review = models.OneToOneField(Review, on_delete=models.PROTECT, related_name="approval")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    approved = models.BooleanField()
    note = models.TextField()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("approve_override", "Can approve or reject an override beyond an officer's authority")]

    def __str__(self) -> str:
        return f"{'Approval' if self.approved else 'Rejection'} of review {self.review_id}"
