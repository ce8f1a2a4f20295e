"""Celery's autodiscovery imports ``<app>.tasks``: this module imports every package's tasks so workers register them.

Each task lives beside the service it wraps and has its ``name=`` pinned, so queued
messages and the beat schedule survive moving the code:

- ``scoring.tasks.process_batch_chunk`` and ``scoring.tasks.sweep_batch_jobs``: scoring/batch/
- ``scoring.load_model_from_hub`` and ``scoring.served_model_version``: scoring/lifecycle/
- ``scoring.tasks.shadow_score_decisions`` and ``scoring.tasks.shadow_score_chunk``: scoring/lifecycle/shadow.py
- ``scoring.tasks.run_policy_simulation``: scoring/policy/simulation.py
- ``scoring.tasks.run_backtest``: scoring/backtests/services.py
- ``scoring.tasks_monitoring.drift_report``: scoring/monitoring/reports.py (the Celery worker's
  metrics hooks are connected by scoring/monitoring/metrics.py, imported with it)
- ``scoring.tasks_monitoring.realised_performance``: scoring/monitoring/performance.py
"""

from scoring.backtests.services import run_backtest
from scoring.batch.jobs import sweep_batch_jobs_task
from scoring.batch.worker import process_batch_chunk
from scoring.lifecycle.loads import load_model_from_hub
from scoring.lifecycle.registry import served_model_version
from scoring.lifecycle.shadow import shadow_score_chunk, shadow_score_decisions
from scoring.monitoring.performance import refresh_realised_performance
from scoring.monitoring.reports import drift_report
from scoring.policy.simulation import run_policy_simulation

__all__ = [
    "drift_report",
    "load_model_from_hub",
    "process_batch_chunk",
    "refresh_realised_performance",
    "run_backtest",
    "run_policy_simulation",
    "served_model_version",
    "shadow_score_chunk",
    "shadow_score_decisions",
    "sweep_batch_jobs_task",
]
