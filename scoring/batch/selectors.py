"""Reads of batch jobs: the list a user may see, progress and summary, and the result CSV streamed in input order."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from accounts import permissions
from scoring.batch import rows as batch_rows
from scoring.batch.rows import EXTERNAL_REF
from scoring.files.csv_export import CsvLines
from scoring.models import BatchChunk, BatchJob, BatchRowError, Prediction

RESULT_HEADER = ["row_number", "external_ref", "probability", "decision", "risk_band", "reasons", "error"]
_FETCH = 5000


def batch_job_list(*, user) -> QuerySet[BatchJob]:
    """Jobs the user may see (own for officers, all for auditors), newest first."""
    qs = BatchJob.objects.select_related("user", "model_version").order_by("-created_at", "-id")
    return permissions.visible_batch_jobs(user, qs)


def batch_job_get(*, user, job_id: int) -> BatchJob | None:
    return batch_job_list(user=user).filter(pk=job_id).first()


def batch_job_progress(job: BatchJob) -> dict[str, object]:
    """State, counters, rate and ETA of a job, and its summary once finished (the page, JSON and API share it)."""
    done = job.rows_scored + job.rows_rejected
    finished = job.state not in (BatchJob.State.QUEUED, BatchJob.State.RUNNING)
    rate = eta = elapsed = None
    if job.started_at:
        elapsed = ((job.finished_at or timezone.now()) - job.started_at).total_seconds()
    if elapsed and elapsed > 0 and done:
        rate = round(done / elapsed, 1)
        eta = 0 if finished else round((job.row_count - done) / rate)
    chunks = list(job.chunks.values("state", "counts", "leased_until"))
    now = timezone.now()
    # Chunks left and no worker holding one: an ETA would be a guess about workers that may be gone.
    waiting = not finished and not any(
        c["state"] == BatchChunk.State.PENDING and c["leased_until"] and c["leased_until"] >= now for c in chunks
    )
    if waiting:
        eta = None
    progress: dict[str, object] = {
        "id": job.pk,
        "state": job.state,
        "state_label": job.get_state_display(),
        "finished": finished,
        "original_name": job.original_name,
        "user": job.user.get_username(),
        "model_version": {"id": job.model_version_id, "label": job.model_version.label},
        "row_count": job.row_count,
        "rows_done": done,
        "rows_scored": job.rows_scored,
        "rows_rejected": job.rows_rejected,
        "rows_not_scored": job.row_count - done if finished else 0,
        "percent": round(100 * done / job.row_count, 1) if job.row_count else 100.0,
        "rows_per_second": rate,
        "eta_seconds": eta,
        "waiting_for_worker": waiting,
        "activity": _activity(finished=finished, waiting=waiting, eta=eta),
        "elapsed_seconds": None if elapsed is None else round(elapsed, 1),
        "chunks_total": len(chunks),
        "chunks_done": sum(c["state"] != BatchChunk.State.PENDING for c in chunks),
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "error": job.error,
        "summary": _summary(chunks) if finished else None,
    }
    return progress


def _activity(*, finished: bool, waiting: bool, eta: int | None) -> str:
    """What the job is doing, in words: the page shows it in place of an ETA while no worker holds a chunk."""
    if finished:
        return ""
    if waiting:
        return gettext("Waiting for a worker")
    return gettext("ETA not known yet") if eta is None else gettext("ETA %(seconds)s s") % {"seconds": f"{eta:,}"}


def _summary(chunks: list[dict]) -> dict[str, object]:
    """Approval rate and band distribution from the chunks' counts (never a scan of the Predictions)."""
    decisions: dict[str, int] = {}
    bands: dict[str, int] = {}
    for c in chunks:
        for key, n in (c["counts"] or {}).items():
            decision, band = key.split("/", 1)
            decisions[decision] = decisions.get(decision, 0) + n
            bands[band] = bands.get(band, 0) + n
    scored = sum(decisions.values())
    return {
        "decisions": dict(sorted(decisions.items())),
        "bands": dict(sorted(bands.items())),
        "approval_rate": round(decisions.get("approve", 0) / scored, 4) if scored else None,
    }


def batch_result_lines(job: BatchJob) -> Iterator[str]:
    """The result CSV, one line per input line in input order, streamed from the stored rows a block at a time.

    Every cell goes through the formula-safe writer: external references and messages come from the file.
    """
    predictions = (
        Prediction.objects.filter(batch_job=job)
        .order_by("row_number")
        .values_list("row_number", "external_ref", "probability", "decision", "risk_band", "reasons")
        .iterator(chunk_size=_FETCH)
    )
    errors = (
        BatchRowError.objects.filter(job=job)
        .order_by("row_number")
        .values_list("row_number", "errors", "external_ref")
        .iterator(_FETCH)
    )
    if job.state == BatchJob.State.CANCELLED:
        missing = gettext("Not scored: the job was cancelled.")
    else:
        missing = gettext("Not scored.")
    if job.state == BatchJob.State.FAILED:
        missing = gettext("Not scored: the job failed (%(error)s).") % {"error": job.error[:200]}
    unscored_refs = _UnscoredRefs(job)
    writer = CsvLines()
    writer.row(RESULT_HEADER)
    next_prediction = next(predictions, None)
    next_error = next(errors, None)
    for number in range(1, job.row_count + 1):
        if next_prediction is not None and next_prediction[0] == number:
            _, ref, probability, decision, band, reasons = next_prediction
            text = " | ".join(r.get("sentence") or r.get("label", "") for r in reasons or [])
            writer.row([number, ref, f"{probability:.6f}", decision, band, text, ""])
            next_prediction = next(predictions, None)
        elif next_error is not None and next_error[0] == number:
            _, problems, ref = next_error
            message = "; ".join(f"{k}: {' '.join(v)}" if k != "row" else " ".join(v) for k, v in problems.items())
            writer.row([number, ref, "", "", "", "", message])
            next_error = next(errors, None)
        else:
            writer.row([number, unscored_refs.get(number), "", "", "", "", missing])
        if number % 1000 == 0:
            yield writer.take()
    yield writer.take()


class _UnscoredRefs:
    """The external_ref of rows never scored (cancelled or failed job), read from the stored file a chunk
    at a time, so the result CSV still says which application each line was."""

    def __init__(self, job: BatchJob) -> None:
        self.job = job
        self.ref_at = job.columns.index(EXTERNAL_REF) if EXTERNAL_REF in (job.columns or []) else None
        self.chunks: list[BatchChunk] | None = None
        self.current: tuple[int, list[str]] = (0, [])

    def get(self, number: int) -> str:
        if self.ref_at is None:
            return ""
        first, refs = self.current
        if not first <= number < first + len(refs):
            first, refs = self._load(number)
        return refs[number - first] if first <= number < first + len(refs) else ""

    def _load(self, number: int) -> tuple[int, list[str]]:
        if self.chunks is None:
            self.chunks = list(self.job.chunks.exclude(state=BatchChunk.State.DONE).order_by("first_row"))
        chunk = next((c for c in self.chunks if c.first_row <= number < c.first_row + c.row_count), None)
        if chunk is None:
            return self.current
        try:
            with self.job.file.storage.open(self.job.file.name, "rb") as fh:
                fh.seek(chunk.byte_start)
                data = fh.read(chunk.byte_end - chunk.byte_start)
        except OSError:
            data = b""
        refs = [batch_rows.line_external_ref(_text(line), self.ref_at) for line in data.split(b"\n")]
        self.current = (chunk.first_row, refs[: chunk.row_count])
        return self.current


def _text(line: bytes) -> str | None:
    try:
        return line.removesuffix(b"\r").decode("utf-8")
    except UnicodeDecodeError:
        return None
