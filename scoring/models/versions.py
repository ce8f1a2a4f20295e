"""Model versions, their activations and their loads from the Hub."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class ModelVersion(models.Model):
    """One model bundle known to the app, from a local folder or a Hub repo revision."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending validation"
        VALIDATED = "validated", "Validated"
        REJECTED = "rejected", "Rejected"
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"

    class Source(models.TextChoices):
        LOCAL = "local", "Local folder"
        HUB = "hub", "Hugging Face Hub"

    name = models.CharField(max_length=200)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.LOCAL)
    source_uri = models.CharField(max_length=500, blank=True, help_text="Local path, or Hub repo id.")
    hub_revision = models.CharField(max_length=200, blank=True, help_text="Branch, tag or commit asked for.")
    hub_commit = models.CharField(max_length=64, blank=True, help_text="Commit sha actually fetched.")
    hub_subfolder = models.CharField(max_length=200, blank=True)
    artifact_path = models.CharField(max_length=500, blank=True, help_text="Folder in the artifact store.")
    sha256 = models.CharField(max_length=64, help_text="sha256 of the model file.")
    file_hashes = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    validation_report = models.JSONField(default=dict, blank=True)
    rejection_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    activated_at = models.DateTimeField(null=True, blank=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Model lifecycle: who last validated it, for the four-eyes rule.
    validated_at = models.DateTimeField(null=True, blank=True)
    validated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
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

    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="activations")
    previous = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="deactivations"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.version} activated {self.created_at:%Y-%m-%d %H:%M}"


class ModelLoad(models.Model):
    """One request to fetch a Hub repo revision: its progress, its error, and the version it produced or found."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Downloading and validating"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    repo_id = models.CharField(max_length=200)
    revision = models.CharField(max_length=200, default="main")
    subfolder = models.CharField(max_length=200, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    commit = models.CharField(max_length=64, blank=True, help_text="Commit sha the revision resolved to.")
    version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="loads")
    reused = models.BooleanField(default=False, help_text="The same repo commit was already loaded.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        where = f"{self.repo_id}@{self.revision}" + (f"/{self.subfolder}" if self.subfolder else "")
        return f"Load {self.pk} {where} ({self.get_state_display()})"
