"""Batch jobs: submit a CSV, plan its chunks, cancel a job, sweep stale jobs (chunks are scored in ``worker``).

A job's file is stored through Django's default storage and cut at submission
into chunks of whole lines (byte ranges), so any worker on any host can score
chunk k alone. A chunk is scored outside any transaction, then written in one:
lock the chunk row (``SKIP LOCKED``), check it is still pending, COPY its
Prediction rows (``bulk_create`` on SQLite), write its row errors and daily
counts, mark it done and add to the job's counters. A worker killed before the
commit leaves nothing behind; a duplicate delivery finds the chunk done or
locked and writes nothing. With the unique (batch_job, row_number) constraint
that gives exactly one Prediction per valid input line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import PurePath
from typing import IO

from celery import shared_task
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from scoring.batch import rows as batch_rows
from scoring.batch import worker
from scoring.batch.rows import EXTERNAL_REF
from scoring.engine import LoadedModel
from scoring.exceptions import BatchJobFinished, InvalidBatchFile
from scoring.files.uploads import megabytes
from scoring.lifecycle import registry
from scoring.models import BatchChunk, BatchJob
from scoring.policy import registry as policy_registry

log = logging.getLogger(__name__)


# --- submission ------------------------------------------------------------------


@dataclass
class ChunkPlan:
    row_count: int = 0
    chunks: list[tuple[int, int, int, int]] = field(default_factory=list)  # first_row, rows, byte_start, byte_end


def submit_batch_job(*, user: AbstractBaseUser, upload: File, original_name: str = "") -> BatchJob:
    """Check an uploaded CSV, store it, record the job and its chunks pinned to the active model, queue them.

    Raises InvalidBatchFile (nothing is stored or queued) or ModelUnavailable.
    """
    active = registry.get_active()
    name = PurePath(original_name or getattr(upload, "name", "") or "upload.csv").name[:255]
    size = upload.size
    if size is not None and size > settings.BATCH_MAX_BYTES:
        raise InvalidBatchFile(
            {
                "file": [
                    gettext("The file is %(size)s; the limit is %(limit)s.")
                    % {"size": megabytes(size), "limit": megabytes(settings.BATCH_MAX_BYTES)}
                ]
            }
        )
    upload.open("rb")
    upload.seek(0)
    columns = batch_rows.read_header(upload)
    check_header(active.model, columns)
    plan = plan_chunks(upload, chunk_rows=settings.BATCH_CHUNK_ROWS, max_rows=settings.BATCH_MAX_ROWS)
    if plan.row_count == 0:
        raise InvalidBatchFile({"file": [gettext("The file has a header but no rows to score.")]})
    upload.seek(0)
    with transaction.atomic():
        # Pinned, like the model: every row of the file is decided by the policy live at submission.
        policy = policy_registry.get_active()
        job = BatchJob(
            user=user,
            model_version=active.version,
            policy_version_id=policy.version_id if policy is not None else None,
            original_name=name,
            row_count=plan.row_count,
            columns=columns,
        )
        job.file.save(_storage_name(name), upload, save=False)
        job.save()
        BatchChunk.objects.bulk_create(
            BatchChunk(job=job, index=i, first_row=first, row_count=rows, byte_start=start, byte_end=end)
            for i, (first, rows, start, end) in enumerate(plan.chunks)
        )
        transaction.on_commit(worker.dispatch_chunks)
    return job


def check_header(model: LoadedModel, columns: list[str]) -> None:
    """Every model feature must be a column; every column must be a feature, protected attribute or external_ref."""
    allowed = {*model.feature_names, *(f.name for f in model.protected), EXTERNAL_REF}
    errors: dict[str, list[str]] = {}
    missing = [name for name in model.feature_names if name not in columns]
    unknown = [name for name in columns if name not in allowed]
    duplicated = sorted({name for name in columns if columns.count(name) > 1})
    if missing:
        errors["missing_columns"] = [gettext("Missing column(s): %(columns)s.") % {"columns": ", ".join(missing)}]
    if unknown:
        shown = ", ".join(repr(n[:60]) for n in unknown[:10])
        errors["unknown_columns"] = [
            gettext(
                "Unknown column(s): %(columns)s. Allowed are the model's features, its protected attributes and "
                "%(reference)s."
            )
            % {"columns": shown, "reference": EXTERNAL_REF}
        ]
    if duplicated:
        errors["duplicate_columns"] = [
            gettext("Column(s) named twice: %(columns)s.") % {"columns": ", ".join(duplicated)}
        ]
    if errors:
        raise InvalidBatchFile(errors)


def plan_chunks(fh: IO[bytes], *, chunk_rows: int, max_rows: int) -> ChunkPlan:
    """Count the data lines after the header and cut them into chunks of ``chunk_rows`` lines (byte ranges)."""
    fh.seek(0)
    offset = len(fh.readline())
    plan = ChunkPlan()
    start, in_chunk = offset, 0
    for line in iter(fh.readline, b""):
        plan.row_count += 1
        in_chunk += 1
        offset += len(line)
        if plan.row_count > max_rows:
            raise InvalidBatchFile(
                {
                    "file": [
                        gettext("The file has more than %(rows)s rows, the limit per job.") % {"rows": f"{max_rows:,}"}
                    ]
                }
            )
        if in_chunk == chunk_rows:
            plan.chunks.append((plan.row_count - in_chunk + 1, in_chunk, start, offset))
            start, in_chunk = offset, 0
    if in_chunk:
        plan.chunks.append((plan.row_count - in_chunk + 1, in_chunk, start, offset))
    return plan


# --- job life cycle ------------------------------------------------------------------


def cancel_batch_job(*, job: BatchJob) -> BatchJob:
    """Stop a queued or running job: chunks not yet started are skipped, chunks being written finish."""
    if not BatchJob.objects.filter(pk=job.pk, state__in=worker.ACTIVE_STATES).update(state=BatchJob.State.CANCELLED):
        raise BatchJobFinished(gettext("Batch %(pk)s has already finished.") % {"pk": job.pk})
    worker.skip_pending_chunks(job.pk)
    worker.finish_if_complete(job_id=job.pk)
    worker.dispatch_chunks()  # the cancelled job's turns go to the others
    job.refresh_from_db()
    return job


def sweep_batch_jobs() -> int:
    """Take back chunks whose worker is gone, resend lost messages, finish complete jobs, send waiting chunks.

    A chunk whose lease ran out counts as a failed start: it is sent again, or its job fails once
    ``BATCH_CHUNK_MAX_ATTEMPTS`` starts have failed. A chunk sent but not started within
    ``BATCH_STALE_SECONDS`` (broker restarted, message lost) is sent again. Returns how many chunks were sent.
    """
    now = timezone.now()
    for job_id in BatchJob.objects.filter(state__in=worker.ACTIVE_STATES).values_list("pk", flat=True):
        worker.finish_if_complete(job_id=job_id)
    pending = BatchChunk.objects.filter(job__state__in=worker.ACTIVE_STATES, state=BatchChunk.State.PENDING)
    for chunk in pending.filter(leased_until__lt=now).order_by():
        # Conditional on the lease seen: a worker that renewed it meanwhile keeps the chunk.
        if BatchChunk.objects.filter(pk=chunk.pk, state=chunk.state, leased_until=chunk.leased_until).update(
            failures=F("failures") + 1, last_error=worker.WORKER_LOST, leased_until=None, enqueued_at=None
        ):
            log.warning("chunk %s of batch %s: its worker is gone, taking it back", chunk.pk, chunk.job_id)
            chunk.refresh_from_db()
            if chunk.failures >= settings.BATCH_CHUNK_MAX_ATTEMPTS:
                worker.fail_batch_job(job_id=chunk.job_id, error=worker.gave_up(chunk))
    lost = now - timedelta(seconds=settings.BATCH_STALE_SECONDS)
    pending.filter(leased_until__isnull=True, enqueued_at__lt=lost).update(enqueued_at=None)
    return worker.dispatch_chunks()


def _storage_name(name: str) -> str:
    stem = PurePath(name).stem[:80] or "upload"
    return f"{stem}.csv"


@shared_task(name="scoring.tasks.sweep_batch_jobs")
def sweep_batch_jobs_task() -> int:
    return sweep_batch_jobs()
