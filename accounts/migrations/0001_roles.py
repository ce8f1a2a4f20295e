"""Create the three roles as groups with their model permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

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
    ],
    "model_admin": [
        "scoring.view_modelversion",
        "scoring.add_modelversion",
        "scoring.change_modelversion",
        "scoring.activate_modelversion",
        "scoring.view_modelactivation",
    ],
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; create them now so groups can hold them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("scoring", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
