"""Prometheus metrics of the scoring domain, correct across several gunicorn and Celery worker processes.

With ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn.conf.py and the Celery worker do it),
prometheus_client writes every value to a per-process file in that folder and
``/metrics`` sums them, so any worker answering a scrape reports the totals of all
of them. The folder must be emptied when the process group starts (stale files
from a previous run would be added in) and a dead worker's live gauges dropped:
``clean_multiprocess_dir`` and ``mark_process_dead`` are called from those hooks.

Everything here is a small ``record_*`` helper so the code that does the work
(services, batch, registry) adds one line per call site.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from celery.signals import worker_init, worker_process_shutdown
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily

if TYPE_CHECKING:
    from scoring.models import ModelVersion, Prediction, Review

decision_log = logging.getLogger("creditscore.decisions")

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_PROBABILITY_BUCKETS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
_JOB_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200)

PREDICTIONS = Counter(
    "creditscore_predictions",
    "Decisions recorded, by decision, risk band, channel and model version.",
    ["decision", "risk_band", "channel", "model_version"],
)
SCORING_SECONDS = Histogram(
    "creditscore_scoring_seconds",
    "Time to score one application: stage=engine (validate, predict, explain) or total (including the audit row).",
    ["stage", "channel"],
    buckets=_LATENCY_BUCKETS,
)
PROBABILITY = Histogram(
    "creditscore_probability_of_default",
    "Predicted probability of default of recorded decisions.",
    ["model_version"],
    buckets=_PROBABILITY_BUCKETS,
)
REVIEWS = Counter(
    "creditscore_reviews",
    "Officer reviews recorded, by outcome, whether the decision was overridden and reason code.",
    ["outcome", "overridden", "reason"],
)
OVERRIDES = Counter("creditscore_overrides", "Reviews that changed the model's decision, by reason code.", ["reason"])
BATCH_ROWS = Counter("creditscore_batch_rows", "Batch rows processed, by outcome (scored or rejected).", ["outcome"])
BATCH_JOBS = Counter("creditscore_batch_jobs", "Batch jobs finished, by final state.", ["state"])
BATCH_JOB_SECONDS = Histogram(
    "creditscore_batch_job_seconds",
    "Wall time of finished batch jobs, by final state.",
    ["state"],
    buckets=_JOB_BUCKETS,
)
DRIFT_REPORTS = Counter(
    "creditscore_drift_reports", "Drift report runs, by outcome (computed or no_model).", ["outcome"]
)
MODEL_LOADS = Counter("creditscore_model_loads", "Model bundles loaded into a process, by outcome.", ["outcome"])
# Shadow challengers: scores stored, and failures that cost a shadow score but never a decision
# (stage: queue = the task could not be sent, task = the task failed, row = a decision the challenger cannot score).
SHADOW_SCORES = Counter("creditscore_shadow_scores", "Shadow scores stored, by challenger version.", ["model_version"])
SHADOW_FAILURES = Counter(
    "creditscore_shadow_failures", "Shadow scoring failures (decisions unaffected), by stage.", ["stage"]
)
MODEL_VALIDATIONS = Counter("creditscore_model_validations", "Model bundles validated, by outcome.", ["outcome"])
# One series per live process (multiprocess mode adds the pid label): 1 for the version it
# serves, 0 for versions it served before, so a process stuck on an old version is visible.
ACTIVE_MODEL = Gauge(
    "creditscore_active_model_info",
    "The model version this process serves (1) or served before (0).",
    ["model_version", "sha256"],
    multiprocess_mode="liveall",
)

_served: tuple[str, str] | None = None


def record_prediction(prediction: Prediction, *, engine_seconds: float, total_seconds: float) -> None:
    """Count one recorded decision and write its log line (ids only, never the applicant's inputs)."""
    version = str(prediction.model_version_id)
    PREDICTIONS.labels(prediction.decision, prediction.risk_band, prediction.channel, version).inc()
    SCORING_SECONDS.labels("engine", prediction.channel).observe(engine_seconds)
    SCORING_SECONDS.labels("total", prediction.channel).observe(total_seconds)
    PROBABILITY.labels(version).observe(prediction.probability)
    # The decision log line lives with the metric so every path that records a decision logs it.
    decision_log.info(
        "decision recorded",
        extra={
            "event": "decision",
            "prediction_id": prediction.pk,
            "model_version": prediction.model_version_id,
            "decision": prediction.decision,
            "risk_band": prediction.risk_band,
            "channel": prediction.channel,
            "user_id": prediction.user_id,
            "batch_job_id": prediction.batch_job_id,
            "duration_ms": round(total_seconds * 1000, 3),
        },
    )


def record_predictions(*, decision: str, risk_band: str, channel: str, model_version: int, count: int) -> None:
    """Count many decisions of one kind at once (batch chunks), without a log line per row."""
    if count:
        PREDICTIONS.labels(decision, risk_band, channel, str(model_version)).inc(count)


def record_review(review: Review) -> None:
    REVIEWS.labels(review.outcome, "yes" if review.overridden else "no", review.reason_code or "none").inc()
    if review.overridden:
        OVERRIDES.labels(review.reason_code or "none").inc()


def record_batch_rows(*, scored: int = 0, rejected: int = 0) -> None:
    if scored:
        BATCH_ROWS.labels("scored").inc(scored)
    if rejected:
        BATCH_ROWS.labels("rejected").inc(rejected)


def record_batch_job(*, state: str, seconds: float | None) -> None:
    BATCH_JOBS.labels(state).inc()
    if seconds is not None:
        BATCH_JOB_SECONDS.labels(state).observe(seconds)


def record_drift_report(outcome: str) -> None:
    """outcome: "computed" or "no_model"."""
    DRIFT_REPORTS.labels(outcome).inc()


def record_model_load(outcome: str) -> None:
    """outcome: "success" or "failure"."""
    MODEL_LOADS.labels(outcome).inc()


def record_validation(outcome: str) -> None:
    """outcome: "accepted" or "rejected"."""
    MODEL_VALIDATIONS.labels(outcome).inc()


def record_shadow_scores(*, model_version: int, count: int) -> None:
    if count:
        SHADOW_SCORES.labels(str(model_version)).inc(count)


def record_shadow_failure(stage: str, count: int = 1) -> None:
    """A shadow score not stored: ``queue``, ``task`` or ``row`` (see SHADOW_FAILURES)."""
    if count:
        SHADOW_FAILURES.labels(stage).inc(count)


def record_active_model(version: ModelVersion) -> None:
    """Say which version this process now serves; the previous one drops to 0."""
    global _served
    labels = (str(version.pk), version.sha256[:12])
    if labels == _served:
        return
    if _served is not None:
        # Not .remove(): in multiprocess mode the old value stays in this process's file.
        ACTIVE_MODEL.labels(*_served).set(0)
    ACTIVE_MODEL.labels(*labels).set(1)
    _served = labels


# --- exposition ------------------------------------------------------------------


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def clean_multiprocess_dir() -> None:
    """Empty the multiprocess folder (create it if missing); call once when a process group starts."""
    folder = multiprocess_dir()
    if not folder:
        return
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    for child in path.iterdir():
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def mark_process_dead(pid: int) -> None:
    """Drop a dead worker's live gauges (its counters stay in the totals)."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)


def process_registry() -> CollectorRegistry:
    """The registry to expose: all processes' values in multiprocess mode, else this process's."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    from prometheus_client import REGISTRY

    return REGISTRY


class DriftCollector:
    """Exports the latest drift report from the database at scrape time.

    The report is written by a Celery beat task in another process (often another
    container), so reading it back here is what makes every web process export it.
    """

    def collect(self):
        from scoring.models import DriftReport

        psi = GaugeMetricFamily(
            "creditscore_drift_psi",
            "Population Stability Index of a feature (or 'score') in the latest drift report.",
            labels=["model_version", "feature"],
        )
        created = GaugeMetricFamily(
            "creditscore_drift_report_timestamp_seconds",
            "When the latest drift report was computed (Unix time).",
            labels=["model_version"],
        )
        observed = GaugeMetricFamily(
            "creditscore_drift_observed_predictions",
            "Predictions in the latest drift report's window.",
            labels=["model_version"],
        )
        report = DriftReport.objects.newest()
        if report is not None:
            version = str(report.model_version_id)
            for name, value in report.psi_by_feature().items():
                psi.add_metric([version, name], value)
            if report.score_psi is not None:
                psi.add_metric([version, "score"], report.score_psi)
            created.add_metric([version], report.created_at.timestamp())
            observed.add_metric([version], report.observed_count)
        yield psi
        yield created
        yield observed


class RealisedPerformanceCollector:
    """Exports each recent version's realised performance against reported loan outcomes.

    Read from the cached snapshot (scoring/monitoring/performance.py) that pages and the API show
    and Celery beat refreshes: a scrape costs a cache read per version, and computes a version's
    figures only when the cache has none (at most once per PERFORMANCE_CACHE_SECONDS). A figure
    that cannot be computed (no outcome, one class only) is left out rather than exported as 0.
    """

    GAUGES = (
        ("creditscore_realised_auc", "Realised AUC of a model version on booked loans with an outcome."),
        ("creditscore_realised_ks", "Realised KS statistic of a model version on booked loans with an outcome."),
        ("creditscore_realised_default_rate", "Observed default rate of a version's booked loans with an outcome."),
        ("creditscore_predicted_pd_mean", "Mean predicted probability of default of those same loans."),
        ("creditscore_outcomes_count", "Booked loans with a known outcome, per model version."),
        (
            "creditscore_realised_performance_flag",
            "1 when a version's realised AUC/KS fall below its validation figures, or its default rate above its "
            "mean PD, by more than the margins (with enough outcomes to judge); else 0.",
        ),
    )

    def collect(self):
        from scoring.monitoring import performance

        families = {name: GaugeMetricFamily(name, text, labels=["model_version"]) for name, text in self.GAUGES}
        for version in performance.versions_with_decisions()[: performance.METRICS_VERSIONS]:
            found = performance.cached_realised_performance(version)
            label = [str(version.pk)]
            overall = found.overall
            values = {
                "creditscore_realised_auc": overall.auc,
                "creditscore_realised_ks": overall.ks,
                "creditscore_realised_default_rate": overall.default_rate,
                "creditscore_predicted_pd_mean": overall.mean_pd,
                "creditscore_outcomes_count": overall.outcomes,
                "creditscore_realised_performance_flag": 1 if found.flagged else 0,
            }
            for name, value in values.items():
                if value is not None:
                    families[name].add_metric(label, value)
        yield from families.values()


def database_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DriftCollector())
    registry.register(RealisedPerformanceCollector())
    return registry


# --- Celery worker hooks: empty the multiprocess folder at start, drop a dead process's gauges ---


@worker_init.connect
def _start_worker_metrics(**_kwargs) -> None:
    """In the worker's main process: empty the multiprocess folder, then serve /metrics on CELERY_METRICS_PORT."""
    clean_multiprocess_dir()
    port = int(os.environ.get("CELERY_METRICS_PORT", "0") or 0)
    if port:
        from prometheus_client import start_http_server

        # Only reachable inside the deployment network (docker-compose publishes no port for it).
        start_http_server(port, registry=process_registry())


@worker_process_shutdown.connect
def _forget_worker_process(pid: int | None = None, **_kwargs) -> None:
    mark_process_dead(pid or os.getpid())
