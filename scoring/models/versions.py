"""Model versions, their activations and their loads from the Hub."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class ModelVersion(models.Model):
    """One model bundle known to the app, from a local folder or a Hub repo revision."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending validation")
        VALIDATED = "validated", _("Validated")
        REJECTED = "rejected", _("Rejected")
        ACTIVE = "active", _("Active")
        RETIRED = "retired", _("Retired")

    class Source(models.TextChoices):
        LOCAL = "local", _("Local folder")
        HUB = "hub", _("Hugging Face Hub")

    name = models.CharField(verbose_name=_("name"), max_length=200)
    source = models.CharField(verbose_name=_("source"), max_length=10, choices=Source.choices, default=Source.LOCAL)
    source_uri = models.CharField(
        verbose_name=_("source uri"), max_length=500, blank=True, help_text=_("Local path, or Hub repo id.")
    )
    hub_revision = models.CharField(
        verbose_name=_("hub revision"), max_length=200, blank=True, help_text=_("Branch, tag or commit asked for.")
    )
    hub_commit = models.CharField(
        verbose_name=_("hub commit"), max_length=64, blank=True, help_text=_("Commit sha actually fetched.")
    )
    hub_subfolder = models.CharField(verbose_name=_("hub subfolder"), max_length=200, blank=True)
    artifact_path = models.CharField(
        verbose_name=_("artifact path"), max_length=500, blank=True, help_text=_("Folder in the artifact store.")
    )
    sha256 = models.CharField(verbose_name=_("sha256"), max_length=64, help_text=_("sha256 of the model file."))
    file_hashes = models.JSONField(verbose_name=_("file hashes"), default=dict, blank=True)
    metadata = models.JSONField(verbose_name=_("metadata"), default=dict, blank=True)
    status = models.CharField(verbose_name=_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    validation_report = models.JSONField(verbose_name=_("validation report"), default=dict, blank=True)
    rejection_reason = models.TextField(verbose_name=_("rejection reason"), blank=True)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
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
    # Model lifecycle: who last validated it, for the four-eyes rule.
    validated_at = models.DateTimeField(verbose_name=_("validated at"), null=True, blank=True)
    validated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("validated by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("model version")
        verbose_name_plural = _("model versions")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=Q(status="active"), name="one_active_model_version"),
        ]
        permissions = [("activate_modelversion", "Can activate or roll back a model version")]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"{self.name} #{self.pk} ({self.sha256[:8]})"

    @property
    def threshold(self) -> float | None:
        value = self.metadata.get("threshold")
        return None if value is None else float(value)


class ModelActivation(models.Model):
    """Append-only record of every activation: which version went live, from which, by whom."""

    version = models.ForeignKey(
        ModelVersion, verbose_name=_("version"), on_delete=models.PROTECT, related_name="activations"
    )
    previous = models.ForeignKey(
        ModelVersion,
        verbose_name=_("previous"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deactivations",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True, blank=True, on_delete=models.PROTECT
    )
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True, db_index=True)
    note = models.CharField(verbose_name=_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("model activation")
        verbose_name_plural = _("model activations")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return gettext("%(version)s activated %(when)s") % {
            "version": self.version,
            "when": f"{self.created_at:%Y-%m-%d %H:%M}",
        }


class ModelLoad(models.Model):
    """One request to fetch a Hub repo revision: its progress, its error, and the version it produced or found."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Downloading and validating")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    repo_id = models.CharField(verbose_name=_("repo id"), max_length=200)
    revision = models.CharField(verbose_name=_("revision"), max_length=200, default="main")
    subfolder = models.CharField(verbose_name=_("subfolder"), max_length=200, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(verbose_name=_("finished at"), null=True, blank=True)
    state = models.CharField(verbose_name=_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    commit = models.CharField(
        verbose_name=_("commit"), max_length=64, blank=True, help_text=_("Commit sha the revision resolved to.")
    )
    version = models.ForeignKey(
        ModelVersion, verbose_name=_("version"), null=True, blank=True, on_delete=models.PROTECT, related_name="loads"
    )
    reused = models.BooleanField(
        verbose_name=_("reused"), default=False, help_text=_("The same repo commit was already loaded.")
    )
    error = models.TextField(verbose_name=_("error"), blank=True)

    class Meta:
        verbose_name = _("model load")
        verbose_name_plural = _("model loads")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        where = f"{self.repo_id}@{self.revision}" + (f"/{self.subfolder}" if self.subfolder else "")
        return gettext("Load %(pk)s %(where)s (%(state)s)") % {
            "pk": self.pk,
            "where": where,
            "state": self.get_state_display(),
        }
