"""Policy simulations: when the run started, its heartbeat after every chunk, and the simulation a rerun repeats.

Plain nullable columns: the table has no append-only or kept trigger (scoring/append_only.py), so none to carry.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0020_rule_statement_languages"),
    ]

    operations = [
        migrations.AddField(
            model_name="policysimulation",
            name="heartbeat_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="last progress"),
        ),
        migrations.AddField(
            model_name="policysimulation",
            name="rerun_of",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="reruns",
                to="scoring.policysimulation",
                verbose_name="rerun of",
            ),
        ),
        migrations.AddField(
            model_name="policysimulation",
            name="started_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="started at"),
        ),
    ]
