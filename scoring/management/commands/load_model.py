"""Load a model bundle from the Hugging Face Hub, validate it and optionally activate it."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from scoring.exceptions import BundleRejected, NotAllowed
from scoring.lifecycle import loads, versions
from scoring.models import ModelLoad, ModelVersion


class Command(BaseCommand):
    help = "Fetch REPO at REVISION from the Hub (HF_ENDPOINT, HF_TOKEN), validate it, and with --activate put it live."

    def add_arguments(self, parser):
        parser.add_argument("--repo", required=True, help="owner/name")
        parser.add_argument("--revision", default="main", help="branch, tag or commit sha")
        parser.add_argument("--subfolder", default="")
        parser.add_argument("--activate", action="store_true")
        parser.add_argument("--user", default="", help="username recorded as requester/activator")

    def handle(self, *args, repo, revision, subfolder, activate, user, **options):
        account = None
        if user:
            account = get_user_model().objects.filter(username=user).first()
            if account is None:
                raise CommandError(f"No user {user!r}.")
        try:
            load = loads.load_from_hub(repo_id=repo, revision=revision, subfolder=subfolder, user=account)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        if load.state != ModelLoad.State.DONE:
            raise CommandError(f"Load failed: {load.error}")
        version = load.version
        self.stdout.write(
            f"{'Already loaded' if load.reused else 'Loaded'} {version} from {repo}@{load.commit[:12]}: "
            f"{version.get_status_display()}"
        )
        for check in version.validation_report.get("checks", []):
            self.stdout.write(f"  [{'ok' if check['ok'] else 'FAILED'}] {check['name']} {check.get('detail', '')}")
        if version.status == ModelVersion.Status.REJECTED:
            raise CommandError(f"Rejected: {version.rejection_reason}")
        if activate and version.status != ModelVersion.Status.ACTIVE:
            try:
                versions.activate(version=version, user=account, note=f"load_model {repo}@{revision}")
            except (BundleRejected, NotAllowed) as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(self.style.SUCCESS(f"Activated {version}."))
