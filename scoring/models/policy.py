"""Credit policy versions: their rules and conditions, activations and simulations.

A version is drafted, checked against the active model's schema, simulated on history, submitted and
then activated by a second person. Only a draft's rules change; once submitted, a version is what it is
for good (the rules' save and delete refuse otherwise), so a decision that names a policy version names
the rules it was decided by.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from scoring.engine.policy import AFTER_MODEL, BEFORE_MODEL, RECORD, Condition, Rule
from scoring.engine.schema import DECLINE, REFER
from scoring.models.versions import ModelVersion


class PolicyIsFrozen(Exception):
    """Only a draft's rules can change."""


class PolicyVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted for activation"
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="What this version changes, and why.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The last successful check of the rules against a model's schema.
    checked_at = models.DateTimeField(null=True, blank=True)
    checked_against = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    activated_at = models.DateTimeField(null=True, blank=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "credit policy version"
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=Q(status="active"), name="one_active_policy_version"),
        ]
        permissions = [
            ("activate_policyversion", "Can approve and activate a credit policy version submitted by someone else"),
            ("simulate_policyversion", "Can simulate a credit policy version on the decision history"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"{self.name} (policy #{self.pk})"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    def engine_rules(self) -> list[Rule]:
        """The rules in policy order, as the engine evaluates them."""
        rules = self.rules.prefetch_related("conditions").order_by("position", "id")
        return [rule.as_engine_rule() for rule in rules]


class PolicyRule(models.Model):
    class Outcome(models.TextChoices):
        DECLINE = DECLINE, "Decline (knock-out)"
        REFER = REFER, "Refer to an officer"
        RECORD = RECORD, "Record only (no effect)"

    class Stage(models.TextChoices):
        BEFORE_MODEL = BEFORE_MODEL, "Before the model (tests the application only)"
        AFTER_MODEL = AFTER_MODEL, "After the model (may test probability and band)"

    version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="rules")
    position = models.PositiveIntegerField(default=10, help_text="Rules are applied in this order, lowest first.")
    code = models.CharField(max_length=40, help_text="Reason code, e.g. AMOUNT_ABOVE_LIMIT (capitals, digits, _).")
    name = models.CharField(max_length=200, help_text="What officers and auditors read, e.g. 'Amount above 20,000 DM'.")
    statement = models.CharField(
        max_length=300, help_text="What the applicant is told when this rule decides (adverse-action notice)."
    )
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    stage = models.CharField(max_length=12, choices=Stage.choices, default=Stage.AFTER_MODEL)
    legal_basis = models.TextField(
        blank=True,
        help_text="Required when a condition tests a protected attribute: the law or regulation that allows it.",
    )

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["version", "code"], name="one_rule_code_per_policy")]

    def __str__(self) -> str:
        return f"{self.code}: {self.name}"

    def save(self, *args, **kwargs) -> None:
        _refuse_unless_draft(self.version)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        _refuse_unless_draft(self.version)
        return super().delete(*args, **kwargs)

    def as_engine_rule(self) -> Rule:
        return Rule(
            code=self.code,
            name=self.name,
            statement=self.statement,
            outcome=self.outcome,
            stage=self.stage,
            conditions=tuple(Condition(field=c.field, test=c.test) for c in self.conditions.all()),
            legal_basis=self.legal_basis,
        )


class PolicyCondition(models.Model):
    rule = models.ForeignKey(PolicyRule, on_delete=models.CASCADE, related_name="conditions")
    field = models.CharField(max_length=100, help_text="An application field, or probability / risk_band.")
    test = models.CharField(
        max_length=300,
        help_text='A ZEN expression on the value: > 20000, [6..72], "car (new)", "car (used)", not in ["a", "b"].',
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.field} {self.test}"

    def save(self, *args, **kwargs) -> None:
        _refuse_unless_draft(self.rule.version)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        _refuse_unless_draft(self.rule.version)
        return super().delete(*args, **kwargs)


def _refuse_unless_draft(version: PolicyVersion) -> None:
    current = PolicyVersion.objects.filter(pk=version.pk).values_list("status", flat=True).first()
    if current is not None and current != PolicyVersion.Status.DRAFT:
        raise PolicyIsFrozen(f"{version.label} is no longer a draft: its rules cannot change. Copy it to a new draft.")


class PolicyActivation(models.Model):
    """Append-only timeline of which policy version went live, from which, asked by whom, approved by whom."""

    version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="activations")
    previous = models.ForeignKey(
        PolicyVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="deactivations"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.version} activated {self.created_at:%Y-%m-%d %H:%M}"


class PolicySimulation(models.Model):
    """A replay of stored decisions under a policy version, beside the active one; its report when done."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="simulations")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    date_from = models.DateTimeField()
    date_to = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    finished_at = models.DateTimeField(null=True, blank=True)
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Simulation {self.pk} of {self.version} ({self.get_state_display()})"
