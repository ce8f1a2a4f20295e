"""Celery side of monitoring: the daily drift task and the worker's metrics endpoint and multiprocess hooks.

Celery autodiscovery imports only ``<app>.tasks``; ScoringConfig.ready() imports this
module so the task is registered and the signal handlers connected in every process.
"""

from __future__ import annotations

import os

from celery import shared_task
from celery.signals import worker_init, worker_process_shutdown

from scoring import metrics, monitoring
from scoring.exceptions import ModelUnavailable


@shared_task(name="scoring.tasks_monitoring.drift_report", ignore_result=True)
def drift_report() -> int | None:
    """Compute today's drift report for the active version; nothing to do (None) when no version is active."""
    try:
        report = monitoring.create_drift_report()
    except ModelUnavailable:
        metrics.record_drift_report("no_model")
        return None
    metrics.record_drift_report("computed")
    return report.pk


@worker_init.connect
def _start_worker_metrics(**_kwargs) -> None:
    """In the worker's main process: empty the multiprocess folder, then serve /metrics on CELERY_METRICS_PORT."""
    metrics.clean_multiprocess_dir()
    port = int(os.environ.get("CELERY_METRICS_PORT", "0") or 0)
    if port:
        from prometheus_client import start_http_server

        # Only reachable inside the deployment network (docker-compose publishes no port for it).
        start_http_server(port, registry=metrics.process_registry())


@worker_process_shutdown.connect
def _forget_worker_process(pid: int | None = None, **_kwargs) -> None:
    metrics.mark_process_dead(pid or os.getpid())
