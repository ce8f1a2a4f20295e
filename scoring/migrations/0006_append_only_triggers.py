"""PostgreSQL: refuse UPDATE, DELETE and TRUNCATE on the scoring audit tables (no-op elsewhere)."""

from django.db import migrations

from scoring.append_only import FUNCTION_SQL, install_sql, uninstall_sql

TABLES = ("scoring_prediction", "scoring_review", "scoring_modelactivation", "scoring_exportlog")


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION_SQL, params=None)
    for table in TABLES:
        schema_editor.execute(install_sql(table), params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(uninstall_sql(table), params=None)


class Migration(migrations.Migration):
    dependencies = [("scoring", "0005_audit_export")]

    operations = [migrations.RunPython(install, uninstall)]
