"""PostgreSQL: an access event carries the database's time; a back-dated one is refused (no-op elsewhere)."""

from django.db import migrations

from scoring.append_only import STAMPED_FUNCTION_SQL, install_stamped_sql, uninstall_stamped_sql


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(STAMPED_FUNCTION_SQL, params=None)
    schema_editor.execute(install_stamped_sql("accounts_accessevent"), params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(uninstall_stamped_sql("accounts_accessevent"), params=None)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_access_event_password_changed")]

    operations = [migrations.RunPython(install, uninstall)]
