"""PostgreSQL: audit rows carry the database's time, model versions keep their identity, row errors stay."""

from django.db import migrations

from scoring.append_only import (
    FUNCTION_SQL,
    MODEL_VERSION_FUNCTION_SQL,
    STAMPED_FUNCTION_SQL,
    UNINSTALL_MODEL_VERSION_SQL,
    install_sql,
    install_stamped_sql,
    uninstall_sql,
    uninstall_stamped_sql,
)

STAMPED = ("scoring_prediction", "scoring_review", "scoring_modelactivation", "scoring_exportlog")


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(STAMPED_FUNCTION_SQL, params=None)
    for table in STAMPED:
        schema_editor.execute(install_stamped_sql(table), params=None)
    schema_editor.execute(MODEL_VERSION_FUNCTION_SQL, params=None)
    schema_editor.execute(FUNCTION_SQL, params=None)
    schema_editor.execute(install_sql("scoring_batchrowerror"), params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(uninstall_sql("scoring_batchrowerror"), params=None)
    schema_editor.execute(UNINSTALL_MODEL_VERSION_SQL, params=None)
    for table in STAMPED:
        schema_editor.execute(uninstall_stamped_sql(table), params=None)


class Migration(migrations.Migration):
    dependencies = [("scoring", "0009_officer_decision_index")]

    operations = [migrations.RunPython(install, uninstall)]
