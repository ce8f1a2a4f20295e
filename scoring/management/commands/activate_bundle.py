"""Register a local model bundle (MLflow folder or bare model.cb) and make it the active version."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from scoring import services
from scoring.engine import BundleRejected, InvalidApplication
from scoring.models import ModelVersion


class Command(BaseCommand):
    help = "Register a local bundle and activate it. With --if-none, only when no version is active yet."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(settings.DEFAULT_BUNDLE_DIR))
        parser.add_argument("--name", default="")
        parser.add_argument("--if-none", action="store_true", help="Do nothing when a version is already active.")

    def handle(self, *args, path, name, if_none, **options):
        if if_none and ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).exists():
            self.stdout.write("A model version is already active; nothing to do.")
            return
        try:
            version = services.register_bundle(path=Path(path), name=name)
        except (BundleRejected, InvalidApplication) as exc:
            raise CommandError(f"Bundle rejected: {exc}") from exc
        if version.status == ModelVersion.Status.ACTIVE:
            self.stdout.write(f"{version} is already active.")
            return
        services.activate_model_version(version=version, user=None, note=f"activate_bundle {path}")
        self.stdout.write(self.style.SUCCESS(f"Activated {version}."))
