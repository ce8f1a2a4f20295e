"""Create the demo users (officer, officer2, manager, auditor, modeladmin, policy) and their team, for local
demos only."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Team
from accounts.permissions import AUDITOR, CREDIT_MANAGER, MODEL_ADMIN, OFFICER, POLICY_MANAGER

DEMO_PASSWORD = "creditscore-demo"  # noqa: S105 - documented demo password, refused outside demo mode
DEMO_TEAM = "Consumer lending"  # the officers and the credit manager share its referrals and approvals
DEMO_USERS = (
    ("officer", OFFICER, "Olivia", "Officer"),
    ("officer2", OFFICER, "Oscar", "Second-Officer"),
    ("manager", CREDIT_MANAGER, "Mia", "Manager"),
    ("auditor", AUDITOR, "Audrey", "Auditor"),
    ("modeladmin", MODEL_ADMIN, "Max", "Model-Admin"),
    ("policy", POLICY_MANAGER, "Paula", "Policy"),
)
# Roles whose work is in Django admin: model versions; credit policy versions (drafted by the policy
# manager, approved by the credit manager as the second person).
STAFF_ROLES = (MODEL_ADMIN, POLICY_MANAGER, CREDIT_MANAGER)


class Command(BaseCommand):
    help = (
        f"Create demo users officer, officer2, manager, auditor, modeladmin and policy with password {DEMO_PASSWORD!r} "
        "(demo mode only)."
    )

    def handle(self, *args, **options):
        if not settings.DEMO_MODE:
            raise CommandError("Demo users exist only in demo mode (DJANGO_DEBUG=true or CREDITSCORE_DEMO=true).")
        User = get_user_model()
        team, _ = Team.objects.get_or_create(name=DEMO_TEAM)
        for username, role, first, last in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"first_name": first, "last_name": last, "email": f"{username}@example.com"}
            )
            user.is_staff = role in STAFF_ROLES
            user.set_password(DEMO_PASSWORD)
            user.save()
            user.groups.add(Group.objects.get(name=role))
            if role in (OFFICER, CREDIT_MANAGER):
                team.members.add(user)
            self.stdout.write(f"{'created' if created else 'updated'} {username} ({role})")
