"""Register a local model bundle, validate it like a Hub load, and activate it through the one lifecycle path."""

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from scoring.engine import BundleRejected, InvalidApplication
from scoring.exceptions import NotAllowed
from scoring.lifecycle import versions
from scoring.models import ModelVersion


class Command(BaseCommand):
    help = (
        "Register a local bundle (stored, validated with the full report) and activate it. "
        "With --if-none, only when no version is active yet. With --user, the version is recorded as that "
        "administrator's, and the four-eyes rule (MODEL_ACTIVATION_REQUIRES_SECOND_ADMIN) applies as in the admin."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(settings.DEFAULT_BUNDLE_DIR))
        parser.add_argument("--name", default="")
        parser.add_argument("--if-none", action="store_true", help="Do nothing when a version is already active.")
        parser.add_argument("--user", default="", help="username of the model administrator loading and activating")

    def handle(self, *args, path, name, if_none, user, **options):
        if if_none and ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).exists():
            self.stdout.write("A model version is already active; nothing to do.")
            return
        account = None
        if user:
            account = get_user_model().objects.filter(username=user).first()
            if account is None:
                raise CommandError(f"No user {user!r}.")
        try:
            version = versions.register_bundle(path=Path(path), name=name, user=account)
        except (BundleRejected, InvalidApplication) as exc:
            raise CommandError(f"Bundle rejected: {exc}") from exc
        for check in version.validation_report.get("checks", []):
            self.stdout.write(f"  [{'ok' if check['ok'] else 'FAILED'}] {check['name']} {check.get('detail', '')}")
        if version.status == ModelVersion.Status.REJECTED:
            raise CommandError(f"Rejected: {version.rejection_reason}")
        if version.status == ModelVersion.Status.ACTIVE:
            self.stdout.write(f"{version} is already active.")
            return
        try:
            versions.activate(version=version, user=account, note=f"activate_bundle {path}")
        except (BundleRejected, NotAllowed) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Activated {version}."))
