"""Referral assignments and override approvals (append-only, stamped on PostgreSQL); reviews that need approval."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from scoring.append_only import (
    FUNCTION_SQL,
    STAMPED_FUNCTION_SQL,
    install_sql,
    install_stamped_sql,
    uninstall_sql,
    uninstall_stamped_sql,
)

TABLES = ("scoring_referralassignment", "scoring_overrideapproval")


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION_SQL, params=None)
    schema_editor.execute(STAMPED_FUNCTION_SQL, params=None)
    for table in TABLES:
        schema_editor.execute(install_sql(table), params=None)
        schema_editor.execute(install_stamped_sql(table), params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(uninstall_stamped_sql(table), params=None)
        schema_editor.execute(uninstall_sql(table), params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0012_adverse_action_notice"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="review",
            name="needs_approval",
            field=models.BooleanField(default=False),
        ),
        migrations.CreateModel(
            name="OverrideApproval",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("approved", models.BooleanField()),
                ("note", models.TextField()),
                (
                    "review",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT, related_name="approval", to="scoring.review"
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "permissions": [
                    ("approve_override", "Can approve or reject an override beyond an officer's authority")
                ],
            },
        ),
        migrations.CreateModel(
            name="ReferralAssignment",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "assignee",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "prediction",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="assignments", to="scoring.prediction"
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(fields=["prediction", "-created_at", "-id"], name="assignment_prediction_recent")
                ],
            },
        ),
        migrations.RunPython(install, uninstall),
    ]
