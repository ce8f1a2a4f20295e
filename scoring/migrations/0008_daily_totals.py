"""Summary counts that answer every history filter without scanning Prediction.

DailyStat gains counts by final outcome; DailyTotal holds the same counts for all officers
together (the per-officer rows are millions after a few years) and MonthlyStat an officer's per
month (an officer's all-time figures were thousands of scattered daily rows). All are filled here
from the decisions and their latest reviews. On PostgreSQL, extended statistics tell the planner that a
decision and a risk band go together (both follow from the probability), so a filter on an
impossible pair (approve + band E) is answered from the indexes instead of by walking the history.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import Count, F, OuterRef, Subquery, Sum
from django.db.models.functions import TruncDate, TruncMonth

COUNTERS = ("count", "probability_sum", "overridden", "reviewed", "final_approve", "final_refer", "final_decline")
KEY = ("day", "model_version_id", "channel", "decision", "risk_band")


def backfill(apps, schema_editor):
    DailyStat = apps.get_model("scoring", "DailyStat")
    DailyTotal = apps.get_model("scoring", "DailyTotal")
    Prediction = apps.get_model("scoring", "Prediction")
    Review = apps.get_model("scoring", "Review")
    for decision in ("approve", "refer", "decline"):  # until reviewed, the model's decision is the final one
        DailyStat.objects.filter(decision=decision).update(**{f"final_{decision}": F("count")})
    latest = Review.objects.filter(prediction=OuterRef("pk")).order_by("-created_at", "-id").values("final_decision")
    changed = (
        Prediction.objects.annotate(final=Subquery(latest[:1]))
        .filter(final__isnull=False)
        .exclude(final=F("decision"))
        .annotate(day=TruncDate("created_at"))
        .values("day", "user_id", "model_version_id", "channel", "decision", "risk_band", "final")
        .annotate(n=Count("id"))
    )
    for group in changed:
        n, final = group.pop("n"), group.pop("final")
        DailyStat.objects.filter(**group).update(
            **{
                f"final_{group['decision']}": F(f"final_{group['decision']}") - n,
                f"final_{final}": F(f"final_{final}") + n,
            }
        )
    sums = {f"sum_{c}": Sum(c) for c in COUNTERS}
    totals = DailyStat.objects.values(*KEY).annotate(**sums).order_by()
    DailyTotal.objects.bulk_create(
        (DailyTotal(**{k: row[k] for k in KEY}, **{c: row[f"sum_{c}"] for c in COUNTERS}) for row in totals.iterator()),
        batch_size=5000,
    )
    MonthlyStat = apps.get_model("scoring", "MonthlyStat")
    months = (
        DailyStat.objects.annotate(month=TruncMonth("day"))
        .values("month", "user_id", *KEY[1:])
        .annotate(**sums)
        .order_by()
    )
    MonthlyStat.objects.bulk_create(
        (
            MonthlyStat(
                day=row["month"],
                user_id=row["user_id"],
                **{k: row[k] for k in KEY[1:]},
                **{c: row[f"sum_{c}"] for c in COUNTERS},
            )
            for row in months.iterator()
        ),
        batch_size=5000,
    )


def create_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE STATISTICS IF NOT EXISTS prediction_decision_band (dependencies, mcv) "
            "ON decision, risk_band FROM scoring_prediction"
        )
        schema_editor.execute("ANALYZE scoring_prediction (decision, risk_band)")


def drop_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP STATISTICS IF EXISTS prediction_decision_band")


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0007_prediction_bulk_writes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="DailyTotal",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                (
                    "channel",
                    models.CharField(choices=[("web", "Web form"), ("api", "API"), ("batch", "Batch")], max_length=10),
                ),
                (
                    "decision",
                    models.CharField(
                        choices=[("approve", "Approve"), ("refer", "Refer"), ("decline", "Decline")], max_length=10
                    ),
                ),
                ("risk_band", models.CharField(max_length=10)),
                ("count", models.PositiveBigIntegerField(default=0)),
                ("probability_sum", models.FloatField(default=0.0)),
                ("overridden", models.PositiveBigIntegerField(default=0)),
                ("reviewed", models.PositiveBigIntegerField(default=0)),
                ("final_approve", models.PositiveBigIntegerField(default=0)),
                ("final_refer", models.PositiveBigIntegerField(default=0)),
                ("final_decline", models.PositiveBigIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name="MonthlyStat",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                (
                    "channel",
                    models.CharField(choices=[("web", "Web form"), ("api", "API"), ("batch", "Batch")], max_length=10),
                ),
                (
                    "decision",
                    models.CharField(
                        choices=[("approve", "Approve"), ("refer", "Refer"), ("decline", "Decline")], max_length=10
                    ),
                ),
                ("risk_band", models.CharField(max_length=10)),
                ("count", models.PositiveBigIntegerField(default=0)),
                ("probability_sum", models.FloatField(default=0.0)),
                ("overridden", models.PositiveBigIntegerField(default=0)),
                ("reviewed", models.PositiveBigIntegerField(default=0)),
                ("final_approve", models.PositiveBigIntegerField(default=0)),
                ("final_refer", models.PositiveBigIntegerField(default=0)),
                ("final_decline", models.PositiveBigIntegerField(default=0)),
            ],
        ),
        migrations.AddField(
            model_name="dailystat",
            name="final_approve",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="dailystat",
            name="final_decline",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="dailystat",
            name="final_refer",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddIndex(
            model_name="dailystat",
            index=models.Index(fields=["user", "day"], name="dailystat_user_day"),
        ),
        migrations.AddField(
            model_name="dailytotal",
            name="model_version",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="scoring.modelversion"
            ),
        ),
        migrations.AddField(
            model_name="monthlystat",
            name="model_version",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="scoring.modelversion"
            ),
        ),
        migrations.AddField(
            model_name="monthlystat",
            name="user",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="dailytotal",
            index=models.Index(fields=["day"], name="dailytotal_day"),
        ),
        migrations.AddConstraint(
            model_name="dailytotal",
            constraint=models.UniqueConstraint(
                fields=("day", "model_version", "channel", "decision", "risk_band"), name="one_daily_total"
            ),
        ),
        migrations.AddConstraint(
            model_name="monthlystat",
            constraint=models.UniqueConstraint(
                fields=("user", "day", "model_version", "channel", "decision", "risk_band"), name="one_monthly_stat"
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RunPython(create_statistics, drop_statistics),
    ]
