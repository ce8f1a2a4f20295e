"""Prediction rows made cheap to write in bulk; measured in bench/README.md.

- Batch rows keep their CSV line as given (``input_line``, header on the job) instead of a JSON
  copy of it; the JSON columns become PostgreSQL ``json`` (the text as written, checked, not
  converted).
- The foreign keys' own indexes go: each duplicates the composite index the key leads. The model
  version and batch job stop being foreign keys in the database (their check per inserted row was
  a fifth of a batch's database time); instead no row of those two tables can ever be deleted.
- Rows of up to ~8 kB stay inline: a batch row is ~2 kB, and PostgreSQL's default of trying to
  compress or move out of line anything above ~2 kB cost more than the rest of the insert.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import scoring.models
from scoring.append_only import KEPT_FUNCTION_SQL, install_kept_sql, uninstall_kept_sql

TABLE = "scoring_prediction"
# The tables kept at this migration, frozen here: later ones (policy versions) get their trigger in their own.
KEPT_TABLES = ("scoring_modelversion", "scoring_batchjob")


def postgresql_setup(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} SET (toast_tuple_target = 8160)")
        schema_editor.execute(KEPT_FUNCTION_SQL, params=None)
        for table in KEPT_TABLES:
            schema_editor.execute(install_kept_sql(table), params=None)


def postgresql_teardown(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} RESET (toast_tuple_target)")
        for table in KEPT_TABLES:
            schema_editor.execute(uninstall_kept_sql(table), params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0006_append_only_triggers"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="batchjob",
            name="columns",
            field=models.JSONField(blank=True, default=list, help_text="The file's header: its column names in order."),
        ),
        migrations.AddField(
            model_name="prediction",
            name="input_line",
            field=models.TextField(
                blank=True,
                default="",
                help_text="Batch rows: the CSV line exactly as in the file, read with the job's header.",
            ),
        ),
        migrations.AlterField(
            model_name="prediction",
            name="batch_job",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="scoring.batchjob",
            ),
        ),
        migrations.AlterField(
            model_name="prediction",
            name="features",
            field=scoring.models.JSONTextField(help_text="The validated values the model scored."),
        ),
        migrations.AlterField(
            model_name="prediction",
            name="inputs",
            field=scoring.models.JSONTextField(
                help_text="The inputs exactly as received (form or API; see input_line for batch rows)."
            ),
        ),
        migrations.AlterField(
            model_name="prediction",
            name="model_version",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="predictions",
                to="scoring.modelversion",
            ),
        ),
        migrations.AlterField(
            model_name="prediction",
            name="protected",
            field=scoring.models.JSONTextField(
                blank=True, default=dict, help_text="Fairness monitoring fields, not scored."
            ),
        ),
        migrations.AlterField(
            model_name="prediction",
            name="reasons",
            field=scoring.models.JSONTextField(blank=True, default=list),
        ),
        migrations.AlterField(
            model_name="prediction",
            name="user",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="predictions",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(postgresql_setup, postgresql_teardown),
    ]
