"""Shadow challengers: the append-only start/stop history and the challengers' scores, with stamped times."""

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

# Named here, not read from scoring.append_only's lists, which change after this migration.
APPEND_ONLY = ("scoring_challengerassignment", "scoring_shadowscore")


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in (FUNCTION_SQL, STAMPED_FUNCTION_SQL):
        schema_editor.execute(statement, params=None)
    for table in APPEND_ONLY:
        schema_editor.execute(install_sql(table), params=None)
        schema_editor.execute(install_stamped_sql(table), params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in APPEND_ONLY:
        schema_editor.execute(uninstall_stamped_sql(table), params=None)
        schema_editor.execute(uninstall_sql(table), params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0017_outcome_uploads"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ChallengerAssignment",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "action",
                    models.CharField(
                        choices=[("start", "Started"), ("stop", "Stopped")], max_length=5, verbose_name="action"
                    ),
                ),
                ("note", models.CharField(blank=True, max_length=200, verbose_name="note")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="recorded at")),
                (
                    "previous",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="next",
                        to="scoring.challengerassignment",
                        verbose_name="previous change",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="by",
                    ),
                ),
                (
                    "version",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="challenger_assignments",
                        to="scoring.modelversion",
                        verbose_name="model version",
                    ),
                ),
            ],
            options={
                "verbose_name": "challenger change",
                "verbose_name_plural": "challenger changes",
                "ordering": ["-id"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("previous__isnull", True)),
                        fields=("action",),
                        name="one_first_challenger_assignment",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ShadowScore",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("probability", models.FloatField(verbose_name="probability of default")),
                (
                    "decision",
                    models.CharField(
                        choices=[("approve", "Approve"), ("refer", "Refer"), ("decline", "Decline")],
                        max_length=10,
                        verbose_name="challenger's decision",
                    ),
                ),
                ("threshold", models.FloatField(verbose_name="challenger's decline threshold")),
                ("refer_lower", models.FloatField(blank=True, null=True, verbose_name="challenger's refer band start")),
                ("risk_band", models.CharField(max_length=10, verbose_name="risk band")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="scored at")),
                (
                    "model_version",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="shadow_scores",
                        to="scoring.modelversion",
                        verbose_name="challenger version",
                    ),
                ),
                (
                    "prediction",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="shadow_scores",
                        to="scoring.prediction",
                        verbose_name="decision",
                    ),
                ),
            ],
            options={
                "verbose_name": "shadow score",
                "verbose_name_plural": "shadow scores",
                "ordering": ["-id"],
                "constraints": [
                    models.UniqueConstraint(fields=("model_version", "prediction"), name="one_shadow_score_per_version")
                ],
            },
        ),
        migrations.RunPython(install, uninstall),
    ]
