"""Loan outcomes: what happened to each decided application, append-only with stamped times."""

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

APPEND_ONLY = "scoring_loanoutcome"


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
        ("scoring", "0015_counter_offers"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="LoanOutcome",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "external_ref",
                    models.CharField(blank=True, help_text="The reference the lender reported.", max_length=100),
                ),
                (
                    "outcome",
                    models.CharField(
                        choices=[
                            ("repaid", "Repaid"),
                            ("defaulted", "Defaulted"),
                            ("written_off", "Written off"),
                            ("withdrawn", "Withdrawn / not booked"),
                        ],
                        max_length=12,
                    ),
                ),
                ("observed_on", models.DateField(help_text="The date the outcome was observed.")),
                ("days_past_due", models.PositiveIntegerField(blank=True, null=True)),
                (
                    "source",
                    models.CharField(
                        choices=[("upload", "CSV upload"), ("api", "API"), ("command", "Management command")],
                        max_length=10,
                    ),
                ),
                (
                    "source_ref",
                    models.CharField(blank=True, help_text="Upload id, API request or file name.", max_length=100),
                ),
                ("reason", models.TextField(blank=True, help_text="Why a correction was made.")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "prediction",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="outcomes",
                        to="scoring.prediction",
                    ),
                ),
                (
                    "supersedes",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="superseded_by",
                        to="scoring.loanoutcome",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [models.Index(fields=["prediction", "-id"], name="outcome_prediction_latest")],
            },
        ),
        migrations.RunPython(install, uninstall),
    ]
