"""`manage.py drift_report`: compute a drift report for the active model now and print the flagged features."""

from django.core.management.base import BaseCommand, CommandError

from scoring.exceptions import ModelUnavailable
from scoring.monitoring import reports


class Command(BaseCommand):
    help = "Compare recent decisions with the active model's training reference (PSI) and store a drift report."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, default=None, help="Window of recent decisions (default DRIFT_WINDOW_DAYS)."
        )

    def handle(self, *args, days=None, **options):
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1.")
        try:
            report = reports.create_drift_report(days=days)
        except ModelUnavailable as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Drift report {report.pk} for {report.model_version}: {report.observed_count} decisions "
            f"from {report.window_start:%Y-%m-%d %H:%M} to {report.window_end:%Y-%m-%d %H:%M}"
        )
        rows = [*report.features, *([report.score] if report.score else [])]
        for entry in rows:
            value = "—" if entry["psi"] is None else f"{entry['psi']:.4f}"
            marker = {"act": "  ACT", "watch": "  watch"}.get(entry["level"], "")
            self.stdout.write(f"  {entry['name']:<60} {value:>8}{marker}")
        self.stdout.write(
            f"{report.act_count} feature(s) to act on (PSI >= 0.25), {report.watch_count} to watch (>= 0.1)."
        )
