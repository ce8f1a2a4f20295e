"""App configuration for accounts."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and access"

    def ready(self):
        from accounts import signals  # connects the access-log receivers

        post_migrate.connect(signals.ensure_roles, sender=self, dispatch_uid="accounts_ensure_roles")
