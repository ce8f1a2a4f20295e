"""Create and activate the default credit policy for the bundled model (``make run``), through the one policy path."""

from django.core.management.base import BaseCommand, CommandError

from scoring.engine.policy import PolicyRejected
from scoring.exceptions import ModelUnavailable, NotAllowed
from scoring.lifecycle import registry
from scoring.models import PolicyVersion
from scoring.policy import defaults, services


class Command(BaseCommand):
    help = (
        "Create the default credit policy (applicant under 18 declined; amount above 20,000 DM or term above "
        "72 months referred), check it against the active model and activate it. With --if-none, only when no "
        "policy version is active yet."
    )

    def add_arguments(self, parser):
        parser.add_argument("--if-none", action="store_true", help="Do nothing when a policy version is active.")

    def handle(self, *args, if_none, **options):
        if if_none and PolicyVersion.objects.filter(status=PolicyVersion.Status.ACTIVE).exists():
            self.stdout.write("A credit policy version is already active; nothing to do.")
            return
        try:
            active = registry.get_active()
            version = services.create_version(
                name=defaults.NAME,
                rules=defaults.RULES,
                user=None,
                description="The policy a new installation starts with.",
                model=active.model,
            )
            services.check_version(version, model=active.model, model_version=active.version)
            services.activate(version, user=None, model=active.model, note="activate_default_policy")
        except (ModelUnavailable, PolicyRejected, NotAllowed) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Activated {version.label}."))
