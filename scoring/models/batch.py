"""Batch jobs, the chunks they are cut into and the rows they refused."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from scoring.models.policy import PolicyVersion
from scoring.models.versions import ModelVersion


class BatchJob(models.Model):
    """A CSV file of applications scored by workers, pinned to one model version and the policy live at submission."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="batch_jobs")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="batch_jobs")
    policy_version = models.ForeignKey(
        PolicyVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="batch_jobs"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    file = models.FileField(upload_to="batches/%Y/%m/")
    original_name = models.CharField(max_length=255, blank=True)
    columns = models.JSONField(default=list, blank=True, help_text=_("The file's header: its column names in order."))
    row_count = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED, db_index=True)
    rows_scored = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Batch {self.pk} ({self.original_name or 'upload'}, {self.get_state_display()})"


class BatchChunk(models.Model):
    """One slice of a batch job's file (byte range and row range), claimed and finished in one transaction."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        DONE = "done", _("Done")
        SKIPPED = "skipped", _("Skipped (job cancelled)")

    job = models.ForeignKey(BatchJob, on_delete=models.PROTECT, related_name="chunks")
    index = models.PositiveIntegerField()
    first_row = models.PositiveIntegerField(help_text=_("1-based number of the chunk's first data row."))
    row_count = models.PositiveIntegerField()
    byte_start = models.PositiveBigIntegerField()
    byte_end = models.PositiveBigIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text=_("How many times a worker started the chunk."))
    failures = models.PositiveIntegerField(
        default=0, help_text=_("Starts that ended in an unexpected error or a lost worker (its lease ran out).")
    )
    last_error = models.TextField(blank=True, help_text=_("Why the chunk's last start failed, if it did."))
    enqueued_at = models.DateTimeField(null=True, blank=True, help_text=_("When its task was sent; null: waiting."))
    claimed_at = models.DateTimeField(null=True, blank=True)
    leased_until = models.DateTimeField(
        null=True, blank=True, help_text=_("A worker holds the chunk until then, renewing it while it works.")
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    scored = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True, help_text=_("Scored rows by 'decision/band'."))

    class Meta:
        ordering = ["job", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="one_batch_chunk_per_index")]
        indexes = [models.Index(fields=["state", "enqueued_at"], name="batchchunk_state_enqueued")]

    def __str__(self) -> str:
        return f"Batch {self.job_id} chunk {self.index} ({self.get_state_display()})"


class BatchRowError(models.Model):
    """Why one input line of a batch file was not scored; with the Predictions, one record per line."""

    job = models.ForeignKey(BatchJob, on_delete=models.PROTECT, related_name="row_errors")
    row_number = models.PositiveIntegerField()
    errors = models.JSONField(help_text=_("Messages by column ('row' for the line as a whole)."))
    external_ref = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["job", "row_number"]
        constraints = [models.UniqueConstraint(fields=["job", "row_number"], name="one_batch_error_per_row")]

    def __str__(self) -> str:
        return f"Batch {self.job_id} row {self.row_number}: {self.errors}"
