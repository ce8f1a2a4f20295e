"""App configuration for scoring."""

from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "Credit scoring"

    def ready(self) -> None:
        # Monitoring (issue #9): autodiscovery only imports scoring.tasks; this registers the
        # drift task and connects the Celery worker's metrics signal handlers.
        from scoring import tasks_monitoring  # noqa: F401
