"""Backtests: a model version and a credit policy replayed on stored decisions; kept rows (no delete)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from scoring.append_only import KEPT_FUNCTION_SQL, install_kept_sql, uninstall_kept_sql

KEPT = "scoring_backtest"


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(KEPT_FUNCTION_SQL, params=None)
    schema_editor.execute(install_kept_sql(KEPT), params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(uninstall_kept_sql(KEPT), params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0018_shadow_challengers"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Backtest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("date_from", models.DateTimeField(verbose_name="decisions from")),
                ("date_to", models.DateTimeField(verbose_name="decisions before")),
                (
                    "state",
                    models.CharField(
                        choices=[("queued", "Queued"), ("running", "Running"), ("done", "Done"), ("failed", "Failed")],
                        default="queued",
                        max_length=10,
                    ),
                ),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("heartbeat_at", models.DateTimeField(blank=True, null=True, verbose_name="last progress")),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("rows_total", models.PositiveIntegerField(default=0, verbose_name="decisions in the period")),
                ("rows_done", models.PositiveIntegerField(default=0, verbose_name="decisions replayed")),
                ("result", models.JSONField(blank=True, default=dict)),
                ("error", models.TextField(blank=True)),
                (
                    "applied_policy",
                    models.ForeignKey(
                        blank=True,
                        help_text="The policy the run applied (none: the model alone decided).",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="scoring.policyversion",
                        verbose_name="policy applied",
                    ),
                ),
                (
                    "model_version",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="backtests",
                        to="scoring.modelversion",
                        verbose_name="model version",
                    ),
                ),
                (
                    "policy_version",
                    models.ForeignKey(
                        blank=True,
                        help_text="The policy to apply; empty means the policy active when the backtest runs.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="backtests",
                        to="scoring.policyversion",
                        verbose_name="credit policy version",
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "rerun_of",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="reruns",
                        to="scoring.backtest",
                        verbose_name="rerun of",
                    ),
                ),
            ],
            options={
                "verbose_name": "backtest",
                "verbose_name_plural": "backtests",
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(fields=["model_version", "-created_at", "-id"], name="backtest_version_recent")
                ],
            },
        ),
        migrations.RunPython(install, uninstall),
    ]
