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
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from scoring.engine.policy import AFTER_MODEL, BEFORE_MODEL, RECORD, Condition, Rule
from scoring.engine.schema import DECLINE, REFER
from scoring.models.versions import ModelVersion


class PolicyIsFrozen(Exception):
    """Only a draft's rules can change."""


class PolicyVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted for activation")
        ACTIVE = "active", _("Active")
        RETIRED = "retired", _("Retired")

    name = models.CharField(verbose_name=_("name"), max_length=200)
    description = models.TextField(
        verbose_name=_("description"), blank=True, help_text=_("What this version changes, and why.")
    )
    status = models.CharField(verbose_name=_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The last successful check of the rules against a model's schema.
    checked_at = models.DateTimeField(verbose_name=_("checked at"), null=True, blank=True)
    checked_against = models.ForeignKey(
        ModelVersion,
        verbose_name=_("checked against"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    submitted_at = models.DateTimeField(verbose_name=_("submitted at"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    activated_at = models.DateTimeField(verbose_name=_("activated at"), null=True, blank=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("activated by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("credit policy version")
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
        return gettext("%(name)s (policy #%(pk)s)") % {"name": self.name, "pk": self.pk}

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    def engine_rules(self) -> list[Rule]:
        """The rules in policy order, as the engine evaluates them."""
        rules = self.rules.prefetch_related("conditions").order_by("position", "id")
        return [rule.as_engine_rule() for rule in rules]


class PolicyRule(models.Model):
    class Outcome(models.TextChoices):
        DECLINE = DECLINE, _("Decline (knock-out)")
        REFER = REFER, _("Refer to an officer")
        RECORD = RECORD, _("Record only (no effect)")

    class Stage(models.TextChoices):
        BEFORE_MODEL = BEFORE_MODEL, _("Before the model (tests the application only)")
        AFTER_MODEL = AFTER_MODEL, _("After the model (may test probability and band)")

    version = models.ForeignKey(
        PolicyVersion, verbose_name=_("version"), on_delete=models.PROTECT, related_name="rules"
    )
    position = models.PositiveIntegerField(
        verbose_name=_("position"), default=10, help_text=_("Rules are applied in this order, lowest first.")
    )
    code = models.CharField(
        verbose_name=_("code"),
        max_length=40,
        help_text=_("Reason code, e.g. AMOUNT_ABOVE_LIMIT (capitals, digits, _)."),
    )
    name = models.CharField(
        verbose_name=_("name"),
        max_length=200,
        help_text=_("What officers and auditors read, e.g. 'Amount above 20,000 DM'."),
    )
    statement = models.CharField(
        verbose_name=_("statement"),
        max_length=300,
        help_text=_("What the applicant is told when this rule decides (adverse-action notice)."),
    )
    statement_fr = models.CharField(
        _("statement in French"),
        max_length=300,
        blank=True,
        help_text=_(
            "The same statement in French, for applicants and officers who read French. "
            "Left blank, French readers are given the statement above."
        ),
    )
    outcome = models.CharField(verbose_name=_("outcome"), max_length=10, choices=Outcome.choices)
    stage = models.CharField(verbose_name=_("stage"), max_length=12, choices=Stage.choices, default=Stage.AFTER_MODEL)
    legal_basis = models.TextField(
        verbose_name=_("legal basis"),
        blank=True,
        help_text=_("Required when a condition tests a protected attribute: the law or regulation that allows it."),
    )

    class Meta:
        verbose_name = _("policy rule")
        verbose_name_plural = _("policy rules")
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
            statement_fr=self.statement_fr,
        )


class PolicyCondition(models.Model):
    rule = models.ForeignKey(PolicyRule, verbose_name=_("rule"), on_delete=models.CASCADE, related_name="conditions")
    field = models.CharField(
        verbose_name=_("field"), max_length=100, help_text=_("An application field, or probability / risk_band.")
    )
    test = models.CharField(
        verbose_name=_("test"),
        max_length=300,
        help_text=_('A ZEN expression on the value: > 20000, [6..72], "car (new)", "car (used)", not in ["a", "b"].'),
    )

    class Meta:
        verbose_name = _("policy condition")
        verbose_name_plural = _("policy conditions")
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
        raise PolicyIsFrozen(
            gettext("%(version)s is no longer a draft: its rules cannot change. Copy it to a new draft.")
            % {"version": version.label}
        )


class PolicyActivation(models.Model):
    """Append-only timeline of which policy version went live, from which, asked by whom, approved by whom."""

    version = models.ForeignKey(
        PolicyVersion, verbose_name=_("version"), on_delete=models.PROTECT, related_name="activations"
    )
    previous = models.ForeignKey(
        PolicyVersion,
        verbose_name=_("previous"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deactivations",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True, blank=True, on_delete=models.PROTECT
    )
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True, db_index=True)
    note = models.CharField(verbose_name=_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("policy activation")
        verbose_name_plural = _("policy activations")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return gettext("%(version)s activated %(when)s") % {
            "version": self.version,
            "when": f"{self.created_at:%Y-%m-%d %H:%M}",
        }


class PolicySimulation(models.Model):
    """A replay of stored decisions under a policy version, beside the active one; its report when done.

    ``heartbeat_at`` moves with every chunk: a queued or running simulation with no sign of life had a worker that
    died, and can be run again (a new simulation, ``rerun_of`` this one)."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    version = models.ForeignKey(
        PolicyVersion, verbose_name=_("version"), on_delete=models.PROTECT, related_name="simulations"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    rerun_of = models.ForeignKey(
        "self", verbose_name=_("rerun of"), null=True, blank=True, on_delete=models.PROTECT, related_name="reruns"
    )
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    date_from = models.DateTimeField(
        verbose_name=_("date from"),
    )
    date_to = models.DateTimeField(
        verbose_name=_("date to"),
    )
    state = models.CharField(verbose_name=_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    started_at = models.DateTimeField(verbose_name=_("started at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(verbose_name=_("last progress"), null=True, blank=True)
    finished_at = models.DateTimeField(verbose_name=_("finished at"), null=True, blank=True)
    report = models.JSONField(verbose_name=_("report"), default=dict, blank=True)
    error = models.TextField(verbose_name=_("error"), blank=True)

    class Meta:
        verbose_name = _("policy simulation")
        verbose_name_plural = _("policy simulations")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return gettext("Simulation %(pk)s of %(version)s (%(state)s)") % {
            "pk": self.pk,
            "version": self.version,
            "state": self.get_state_display(),
        }
