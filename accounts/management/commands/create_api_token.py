"""Create an API token for a user and print its key once (only a hash is stored)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.tokens import issue_api_token


class Command(BaseCommand):
    help = "Create an API token for USER and print the key. It cannot be shown again: store it now."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="What the token is for.")
        parser.add_argument("--quiet-key", action="store_true", help="Print only the key (for scripts).")

    def handle(self, *args, username, name, quiet_key, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if not user.is_active:
            raise CommandError(f"{username!r} is inactive; an inactive user's token would be refused.")
        token, key = issue_api_token(user=user, name=name)
        if quiet_key:
            self.stdout.write(key)
            return
        self.stdout.write(f"Token {token.prefix}… for {username} ({token.name}):")
        self.stdout.write(key)
        self.stdout.write("Store it now: only its hash is kept and it cannot be shown again.")
