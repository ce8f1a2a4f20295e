"""App configuration for scoring."""

from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "Credit scoring"

    def ready(self) -> None:
        # Celery autodiscovery only imports modules named "tasks": importing these registers the
        # model lifecycle tasks and the monitoring (drift) task, with the worker's metrics signal
        # handlers, in every worker and web process.
        from scoring import tasks_models, tasks_monitoring  # noqa: F401
