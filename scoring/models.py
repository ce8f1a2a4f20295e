"""The scoring domain's tables: model versions, decisions, reviews, batch jobs and daily counts."""

from __future__ import annotations

import csv
import json

from django.conf import settings
from django.db import models
from django.db.models import Q


class JSONTextField(models.JSONField):
    """JSON stored as the text it was written as: PostgreSQL's ``json`` type rather than ``jsonb``.

    For an audit record the exact text is the better copy (keys in the order given), and
    PostgreSQL then only checks the JSON on insert instead of converting it, which was a third
    of a batch row's insert cost (bench/README.md). Nothing queries inside these columns; they
    are read whole. Other databases store JSON as text anyway.
    """

    def db_type(self, connection):
        return "json" if connection.vendor == "postgresql" else super().db_type(connection)

    def get_db_prep_value(self, value, connection, prepared=False):
        # As text, not psycopg's Jsonb (which PostgreSQL would parse into jsonb and print back
        # normalised): the column then holds exactly the JSON the app wrote, as COPY writes it.
        if connection.vendor == "postgresql" and value is not None and not hasattr(value, "as_sql"):
            return json.dumps(value, cls=self.encoder)
        return super().get_db_prep_value(value, connection, prepared)

    def from_db_value(self, value, expression, connection):
        if value is not None and not isinstance(value, str):
            return value  # psycopg parses ``json`` columns itself (Django only asks it not to for jsonb)
        return super().from_db_value(value, expression, connection)


class Channel(models.TextChoices):
    WEB = "web", "Web form"
    API = "api", "API"
    BATCH = "batch", "Batch"


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REFER = "refer", "Refer"
    DECLINE = "decline", "Decline"


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
    # Model lifecycle (issue #8): who last validated it, for the four-eyes rule.
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


class BatchJob(models.Model):
    """A CSV file of applications scored by workers, pinned to one model version."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="batch_jobs")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="batch_jobs")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    file = models.FileField(upload_to="batches/%Y/%m/")
    original_name = models.CharField(max_length=255, blank=True)
    columns = models.JSONField(default=list, blank=True, help_text="The file's header: its column names in order.")
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
    inputs = JSONTextField(help_text="The inputs exactly as received (form or API; see input_line for batch rows).")
    input_line = models.TextField(
        blank=True, default="", help_text="Batch rows: the CSV line exactly as in the file, read with the job's header."
    )
    features = JSONTextField(help_text="The validated values the model scored.")
    protected = JSONTextField(default=dict, blank=True, help_text="Fairness monitoring fields, not scored.")
    probability = models.FloatField(help_text="Probability of default.")
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

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="prediction_recent"),
            models.Index(fields=["user", "-created_at", "-id"], name="prediction_user_recent"),
            # An officer's decisions of one kind, newest first: with a review filter on top, the page walks
            # only those instead of all the officer's rows (bench/history.py, 10M rows).
            models.Index(fields=["user", "decision", "-created_at", "-id"], name="prediction_user_decision"),
            models.Index(fields=["model_version", "-created_at", "-id"], name="prediction_version_recent"),
            models.Index(fields=["decision", "-created_at", "-id"], name="prediction_decision_recent"),
            models.Index(fields=["risk_band", "-created_at", "-id"], name="prediction_band_recent"),
            models.Index(fields=["channel", "-created_at", "-id"], name="prediction_channel_recent"),
            models.Index(fields=["external_ref"], name="prediction_external_ref"),
            # Auditor history filtered by batch job, newest first (issue #5).
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


class Review(models.Model):
    """An officer's review of a decision: agreement or an override with its justification. Never edited."""

    class Outcome(models.TextChoices):
        AGREE = "agree", "Agree with the model"
        APPROVE = "approve", "Approve"
        DECLINE = "decline", "Decline"

    class ReasonCode(models.TextChoices):
        NONE = "", "—"
        ADDITIONAL_INCOME = "additional_income", "Verified additional income"
        COLLATERAL = "collateral", "Additional collateral or guarantor"
        RELATIONSHIP = "relationship", "Long, good relationship with the bank"
        DATA_ERROR = "data_error", "Application data was wrong or incomplete"
        AFFORDABILITY = "affordability", "Affordability concern"
        FRAUD_SUSPICION = "fraud_suspicion", "Suspected fraud or misrepresentation"
        POLICY = "policy", "Credit policy rule"
        OTHER = "other", "Other (explain below)"

    prediction = models.ForeignKey(Prediction, on_delete=models.PROTECT, related_name="reviews")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    final_decision = models.CharField(max_length=10, choices=Decision.choices)
    overridden = models.BooleanField(default=False)
    reason_code = models.CharField(max_length=30, choices=ReasonCode.choices, blank=True)
    justification = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["prediction", "-created_at"], name="review_prediction_recent")]

    def __str__(self) -> str:
        return f"Review of prediction {self.prediction_id}: {self.get_outcome_display()}"


class DailyCounts(models.Model):
    """The counters of a day's aggregate row, kept in the same transaction as the decisions and reviews they count.

    ``final_*`` count the decisions whose final outcome (the latest review's, else the model's) is
    approve, refer or decline, so filters on the final outcome, on overrides and on reviews are
    answered here too, never by scanning Prediction.
    """

    day = models.DateField()
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    decision = models.CharField(max_length=10, choices=Decision.choices)
    risk_band = models.CharField(max_length=10)
    count = models.PositiveBigIntegerField(default=0)
    probability_sum = models.FloatField(default=0.0)
    overridden = models.PositiveBigIntegerField(default=0)
    reviewed = models.PositiveBigIntegerField(default=0)
    final_approve = models.PositiveBigIntegerField(default=0)
    final_refer = models.PositiveBigIntegerField(default=0)
    final_decline = models.PositiveBigIntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.day} {self.decision}/{self.risk_band}: {self.count}"


class DailyStat(DailyCounts):
    """Counts per day x officer x model version x channel x decision x band (an officer's own figures)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "user", "model_version", "channel", "decision", "risk_band"], name="one_daily_stat"
            )
        ]
        indexes = [
            models.Index(fields=["day"], name="dailystat_day"),
            models.Index(fields=["user", "day"], name="dailystat_user_day"),
        ]


class MonthlyStat(DailyCounts):
    """An officer's counts per calendar month (``day`` is the month's first day), beside DailyStat.

    An officer's figures over a long range add up tens of rows here instead of thousands of
    daily rows spread over the table; the days at the ends of a range come from DailyStat.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "day", "model_version", "channel", "decision", "risk_band"], name="one_monthly_stat"
            )
        ]


class DailyTotal(DailyCounts):
    """The same counts for all officers together, per day x model version x channel x decision x band.

    What the history summary and monitoring read when no officer is chosen: over years, the
    per-officer rows run into millions (a million for 50 officers and 25 months, 0.3 s to add up),
    these into tens of thousands.
    """

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "model_version", "channel", "decision", "risk_band"], name="one_daily_total"
            )
        ]
        indexes = [models.Index(fields=["day"], name="dailytotal_day")]


# --- Monitoring (issue #9) ---------------------------------------------------------


class DriftReport(models.Model):
    """PSI of each feature and of the score between a version's training reference and a window of decisions,
    and the fairness tables of the same run.

    Written by the daily drift task or `manage.py drift_report`; never changed.
    """

    created_at = models.DateTimeField(auto_now_add=True)
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="drift_reports")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    observed_count = models.PositiveIntegerField(help_text="Decisions in the window that were compared.")
    features = models.JSONField(default=list, help_text="One entry per feature: name, psi, level, bins.")
    score = models.JSONField(default=dict, blank=True, help_text="The same for the predicted probability.")
    score_psi = models.FloatField(null=True, blank=True)
    max_psi = models.FloatField(null=True, blank=True)
    watch_count = models.PositiveSmallIntegerField(default=0)
    act_count = models.PositiveSmallIntegerField(default=0)
    fairness = models.JSONField(
        default=dict,
        blank=True,
        help_text="Approval rates and adverse impact ratios by group, computed in the same run.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="driftreport_recent"),
            models.Index(fields=["model_version", "-created_at"], name="driftreport_version_recent"),
        ]

    def __str__(self) -> str:
        return f"Drift report {self.pk} for {self.model_version_id} ({self.created_at:%Y-%m-%d %H:%M})"

    def psi_by_feature(self) -> dict[str, float]:
        return {f["name"]: f["psi"] for f in self.features if f.get("psi") is not None}


# --- Batch scoring (issue #7) ------------------------------------------------------


class BatchChunk(models.Model):
    """One slice of a batch job's file (byte range and row range), claimed and finished in one transaction."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped (job cancelled)"

    job = models.ForeignKey(BatchJob, on_delete=models.PROTECT, related_name="chunks")
    index = models.PositiveIntegerField()
    first_row = models.PositiveIntegerField(help_text="1-based number of the chunk's first data row.")
    row_count = models.PositiveIntegerField()
    byte_start = models.PositiveBigIntegerField()
    byte_end = models.PositiveBigIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    scored = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True, help_text="Scored rows by 'decision/band'.")

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
    errors = models.JSONField(help_text="Messages by column ('row' for the line as a whole).")
    external_ref = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["job", "row_number"]
        constraints = [models.UniqueConstraint(fields=["job", "row_number"], name="one_batch_error_per_row")]

    def __str__(self) -> str:
        return f"Batch {self.job_id} row {self.row_number}: {self.errors}"


# --- Audit exports (issue #5) ---------------------------------------------------


class ExportLog(models.Model):
    """One CSV export of the decision history: who, when, which filter, how many rows. Never changed."""

    created_at = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    filters = models.JSONField(default=dict, blank=True)
    row_count = models.PositiveBigIntegerField()
    # The export covers predictions with id <= this, so the row count above is exactly what was sent.
    last_prediction_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["-created_at", "-id"], name="exportlog_recent")]

    def __str__(self) -> str:
        return f"Export {self.pk} by {self.user} ({self.row_count} rows)"
