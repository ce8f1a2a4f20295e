"""App configuration for accounts."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and access")

    def ready(self) -> None:
        from accounts import signals  # noqa: F401 - connects the access-log receivers
        from accounts.roles import ensure_roles_after_migrate

        # Roles must exist whenever the database does: after migrate, and after the flush
        # that ends a transactional test (which empties every table, groups included).
        # Sent per app with models; scoring's comes after auth's, so its permissions exist by then.
        scoring = self.apps.get_app_config("scoring")
        post_migrate.connect(ensure_roles_after_migrate, sender=scoring, dispatch_uid="creditscore-roles")
