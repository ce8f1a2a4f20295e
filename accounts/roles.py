"""The five roles as Django groups and the model permissions each holds; kept in step after every migrate."""

from __future__ import annotations

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions

ROLE_PERMISSIONS = {
    "loan_officer": [
        "scoring.add_prediction",
        "scoring.view_prediction",
        "scoring.add_review",
        "scoring.view_review",
        "scoring.add_batchjob",
        "scoring.view_batchjob",
    ],
    "auditor": [
        "scoring.view_prediction",
        "scoring.view_review",
        "scoring.view_batchjob",
        "scoring.view_modelversion",
        "scoring.view_modelactivation",
        "scoring.view_dailystat",
        "scoring.view_policyversion",
        "scoring.view_policyrule",
        "scoring.view_policycondition",
        "scoring.view_policyactivation",
        "scoring.view_policysimulation",
    ],
    "credit_manager": [
        "scoring.view_prediction",
        "scoring.view_review",
        "scoring.view_overrideapproval",
        "scoring.add_overrideapproval",
        "scoring.approve_override",
        # The second person for a credit policy activation.
        "scoring.view_policyversion",
        "scoring.view_policyrule",
        "scoring.view_policycondition",
        "scoring.view_policyactivation",
        "scoring.view_policysimulation",
        "scoring.activate_policyversion",
    ],
    "credit_policy_manager": [
        "scoring.view_policyversion",
        "scoring.add_policyversion",
        "scoring.change_policyversion",
        "scoring.view_policyrule",
        "scoring.add_policyrule",
        "scoring.change_policyrule",
        "scoring.delete_policyrule",
        "scoring.view_policycondition",
        "scoring.add_policycondition",
        "scoring.change_policycondition",
        "scoring.delete_policycondition",
        "scoring.view_policyactivation",
        "scoring.view_policysimulation",
        "scoring.add_policysimulation",
        "scoring.simulate_policyversion",
        "scoring.activate_policyversion",
    ],
    "model_admin": [
        "scoring.view_modelversion",
        "scoring.add_modelversion",
        "scoring.change_modelversion",
        "scoring.activate_modelversion",
        "scoring.view_modelactivation",
    ],
}


def ensure_roles(apps=global_apps, using: str = "default") -> None:
    """Create the role groups with their permissions (idempotent; adds permissions, never removes)."""
    # Permissions are normally created after all migrations ran; create them now so groups can hold them.
    for app_config in apps.get_app_configs():
        had_models = getattr(app_config, "models_module", None)
        app_config.models_module = had_models or True
        create_permissions(app_config, apps=apps, verbosity=0, using=using)
        app_config.models_module = had_models
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        wanted = []
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            permission = (
                Permission.objects.using(using).filter(content_type__app_label=app_label, codename=codename).first()
            )
            if permission is not None:
                wanted.append(permission)
        group.permissions.add(*wanted)


def ensure_roles_after_migrate(sender, using: str = "default", apps=global_apps, **kwargs) -> None:
    """post_migrate: also runs after a test flush, which empties the groups table."""
    ensure_roles(apps, using)
