"""App configuration for scoring."""

from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "Credit scoring"

    def ready(self) -> None:
        # Model lifecycle (issue #8): Celery autodiscovery only finds modules named "tasks";
        # importing the lifecycle tasks here registers them in every worker and web process.
        from scoring import tasks_models  # noqa: F401
