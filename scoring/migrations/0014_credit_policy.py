"""Credit policy versions, rules, conditions, activations (append-only) and simulations; decisions record the policy."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import scoring.models.fields
from scoring.append_only import (
    FUNCTION_SQL,
    KEPT_FUNCTION_SQL,
    STAMPED_FUNCTION_SQL,
    install_kept_sql,
    install_sql,
    install_stamped_sql,
    uninstall_kept_sql,
    uninstall_sql,
    uninstall_stamped_sql,
)

APPEND_ONLY = "scoring_policyactivation"
KEPT = "scoring_policyversion"


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in (FUNCTION_SQL, STAMPED_FUNCTION_SQL, KEPT_FUNCTION_SQL):
        schema_editor.execute(statement, params=None)
    schema_editor.execute(install_sql(APPEND_ONLY), params=None)
    schema_editor.execute(install_stamped_sql(APPEND_ONLY), params=None)
    schema_editor.execute(install_kept_sql(KEPT), params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(uninstall_kept_sql(KEPT), params=None)
    schema_editor.execute(uninstall_stamped_sql(APPEND_ONLY), params=None)
    schema_editor.execute(uninstall_sql(APPEND_ONLY), params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0013_referrals_and_approvals"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PolicyRule",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "position",
                    models.PositiveIntegerField(default=10, help_text="Rules are applied in this order, lowest first."),
                ),
                (
                    "code",
                    models.CharField(
                        help_text="Reason code, e.g. AMOUNT_ABOVE_LIMIT (capitals, digits, _).", max_length=40
                    ),
                ),
                (
                    "name",
                    models.CharField(
                        help_text="What officers and auditors read, e.g. 'Amount above 20,000 DM'.", max_length=200
                    ),
                ),
                (
                    "statement",
                    models.CharField(
                        help_text="What the applicant is told when this rule decides (adverse-action notice).",
                        max_length=300,
                    ),
                ),
                (
                    "outcome",
                    models.CharField(
                        choices=[
                            ("decline", "Decline (knock-out)"),
                            ("refer", "Refer to an officer"),
                            ("record", "Record only (no effect)"),
                        ],
                        max_length=10,
                    ),
                ),
                (
                    "stage",
                    models.CharField(
                        choices=[
                            ("before_model", "Before the model (tests the application only)"),
                            ("after_model", "After the model (may test probability and band)"),
                        ],
                        default="after_model",
                        max_length=12,
                    ),
                ),
                (
                    "legal_basis",
                    models.TextField(
                        blank=True,
                        help_text="Required when a condition tests a protected attribute: the law or regulation that allows it.",
                    ),
                ),
            ],
            options={
                "ordering": ["position", "id"],
            },
        ),
        migrations.AddField(
            model_name="prediction",
            name="deciding_rule",
            field=models.CharField(blank=True, default="", max_length=40),
        ),
        migrations.AddField(
            model_name="prediction",
            name="model_decision",
            field=models.CharField(
                blank=True,
                choices=[("approve", "Approve"), ("refer", "Refer"), ("decline", "Decline")],
                default="",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="prediction",
            name="policy_rules",
            field=scoring.models.fields.JSONTextField(
                blank=True, default=list, help_text="Codes of the credit policy rules that fired."
            ),
        ),
        migrations.CreateModel(
            name="PolicyCondition",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "field",
                    models.CharField(help_text="An application field, or probability / risk_band.", max_length=100),
                ),
                (
                    "test",
                    models.CharField(
                        help_text='A ZEN expression on the value: > 20000, [6..72], "car (new)", "car (used)", not in ["a", "b"].',
                        max_length=300,
                    ),
                ),
                (
                    "rule",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="conditions", to="scoring.policyrule"
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="PolicyVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=200)),
                ("description", models.TextField(blank=True, help_text="What this version changes, and why.")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("draft", "Draft"),
                            ("submitted", "Submitted for activation"),
                            ("active", "Active"),
                            ("retired", "Retired"),
                        ],
                        default="draft",
                        max_length=12,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("checked_at", models.DateTimeField(blank=True, null=True)),
                ("submitted_at", models.DateTimeField(blank=True, null=True)),
                ("activated_at", models.DateTimeField(blank=True, null=True)),
                (
                    "activated_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "checked_against",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="scoring.modelversion",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "submitted_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "credit policy version",
                "ordering": ["-created_at", "-id"],
                "permissions": [
                    (
                        "activate_policyversion",
                        "Can approve and activate a credit policy version submitted by someone else",
                    ),
                    ("simulate_policyversion", "Can simulate a credit policy version on the decision history"),
                ],
            },
        ),
        migrations.CreateModel(
            name="PolicySimulation",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("date_from", models.DateTimeField()),
                ("date_to", models.DateTimeField()),
                (
                    "state",
                    models.CharField(
                        choices=[("queued", "Queued"), ("running", "Running"), ("done", "Done"), ("failed", "Failed")],
                        default="queued",
                        max_length=10,
                    ),
                ),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("report", models.JSONField(blank=True, default=dict)),
                ("error", models.TextField(blank=True)),
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
                    "version",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="simulations",
                        to="scoring.policyversion",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.AddField(
            model_name="policyrule",
            name="version",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="rules", to="scoring.policyversion"
            ),
        ),
        migrations.CreateModel(
            name="PolicyActivation",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("note", models.CharField(blank=True, max_length=200)),
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
                    "user",
                    models.ForeignKey(
                        blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "previous",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="deactivations",
                        to="scoring.policyversion",
                    ),
                ),
                (
                    "version",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="activations",
                        to="scoring.policyversion",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.AddField(
            model_name="batchjob",
            name="policy_version",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="batch_jobs",
                to="scoring.policyversion",
            ),
        ),
        migrations.AddField(
            model_name="prediction",
            name="policy_version",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="scoring.policyversion",
            ),
        ),
        migrations.AddConstraint(
            model_name="policyversion",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "active")), fields=("status",), name="one_active_policy_version"
            ),
        ),
        migrations.AddConstraint(
            model_name="policyrule",
            constraint=models.UniqueConstraint(fields=("version", "code"), name="one_rule_code_per_policy"),
        ),
        migrations.RunPython(install, uninstall),
    ]
