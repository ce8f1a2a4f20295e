"""Train the German Credit model and write an MLflow-style bundle directory."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from scoring.engine.training import train_bundle

DATA_DIR = Path(settings.BASE_DIR) / "scoring" / "data"


class Command(BaseCommand):
    help = "Train a CatBoost model on the German Credit data and write MLmodel, model.cb and input_example.json."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, type=Path, help="Bundle directory to write.")
        parser.add_argument("--data", type=Path, default=DATA_DIR / "germancredit.csv", help="Training CSV.")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--iterations", type=int, default=None, help="Override the number of boosting rounds.")
        parser.add_argument(
            "--write-reference",
            action="store_true",
            help=f"Also write the hold-out rows to {DATA_DIR / 'reference_sample.csv'}.",
        )

    def handle(self, *args, out, data, seed, iterations, write_reference, **options):
        if not data.is_file():
            raise CommandError(f"No training data at {data}.")
        try:
            metrics = train_bundle(
                data_path=data,
                out_dir=out,
                seed=seed,
                iterations=iterations,
                reference_sample_path=DATA_DIR / "reference_sample.csv" if write_reference else None,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        for name, value in metrics.items():
            self.stdout.write(f"{name:32} {value}")
        self.stdout.write(self.style.SUCCESS(f"Wrote the bundle to {out}."))
