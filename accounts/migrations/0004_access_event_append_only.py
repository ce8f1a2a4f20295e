"""PostgreSQL: refuse UPDATE, DELETE and TRUNCATE on the access log (no-op elsewhere)."""

from django.db import migrations

from scoring.append_only import FUNCTION_SQL, install_sql, uninstall_sql


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION_SQL, params=None)
    schema_editor.execute(install_sql("accounts_accessevent"), params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(uninstall_sql("accounts_accessevent"), params=None)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_access_event")]

    operations = [migrations.RunPython(install, uninstall)]
