"""Outcome uploads: one row per set of loan outcomes taken in (file, API request, command run), append-only."""

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

APPEND_ONLY = "scoring_outcomeupload"


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in (FUNCTION_SQL, STAMPED_FUNCTION_SQL):
        schema_editor.execute(statement, params=None)
    schema_editor.execute(install_sql(APPEND_ONLY), params=None)
    schema_editor.execute(install_stamped_sql(APPEND_ONLY), params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(uninstall_stamped_sql(APPEND_ONLY), params=None)
    schema_editor.execute(uninstall_sql(APPEND_ONLY), params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0016_loan_outcomes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="OutcomeUpload",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="received")),
                (
                    "source",
                    models.CharField(
                        choices=[("upload", "CSV upload"), ("api", "API"), ("command", "Management command")],
                        max_length=10,
                        verbose_name="channel",
                    ),
                ),
                ("file_name", models.CharField(blank=True, max_length=255, verbose_name="file name")),
                ("sha256", models.CharField(max_length=64, verbose_name="sha256")),
                ("row_count", models.PositiveIntegerField(verbose_name="rows")),
                ("stored", models.PositiveIntegerField(verbose_name="new outcomes")),
                ("corrected", models.PositiveIntegerField(verbose_name="corrections")),
                ("unchanged", models.PositiveIntegerField(verbose_name="unchanged")),
                ("idempotency_key", models.CharField(blank=True, max_length=200)),
                (
                    "created_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="by",
                    ),
                ),
            ],
            options={
                "verbose_name": "outcome upload",
                "verbose_name_plural": "outcome uploads",
                "ordering": ["-created_at", "-id"],
                "indexes": [models.Index(fields=["-created_at", "-id"], name="outcomeupload_recent")],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("idempotency_key", ""), _negated=True),
                        fields=("created_by", "idempotency_key"),
                        name="outcomeupload_one_per_key",
                    )
                ],
            },
        ),
        migrations.RunPython(install, uninstall),
    ]
