"""Daily and monthly counts of decisions, kept in the same transaction as the rows they count."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from scoring.models.choices import Channel, Decision
from scoring.models.versions import ModelVersion


class DailyCounts(models.Model):
    """The counters of a day's aggregate row, kept in the same transaction as the decisions and reviews they count.

    ``final_*`` count the decisions whose final outcome (the latest review's, else the model's) is
    approve, refer or decline, so filters on the final outcome, on overrides and on reviews are
    answered here too, never by scanning Prediction.
    """

    day = models.DateField()
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    decision = models.CharField(max_length=10, choices=Decision.choices)
    risk_band = models.CharField(max_length=10)
    count = models.PositiveBigIntegerField(default=0)
    probability_sum = models.FloatField(default=0.0)
    overridden = models.PositiveBigIntegerField(default=0)
    reviewed = models.PositiveBigIntegerField(default=0)
    final_approve = models.PositiveBigIntegerField(default=0)
    final_refer = models.PositiveBigIntegerField(default=0)
    final_decline = models.PositiveBigIntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.day} {self.decision}/{self.risk_band}: {self.count}"


class DailyStat(DailyCounts):
    """Counts per day x officer x model version x channel x decision x band (an officer's own figures)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "user", "model_version", "channel", "decision", "risk_band"], name="one_daily_stat"
            )
        ]
        indexes = [
            models.Index(fields=["day"], name="dailystat_day"),
            models.Index(fields=["user", "day"], name="dailystat_user_day"),
        ]


class MonthlyStat(DailyCounts):
    """An officer's counts per calendar month (``day`` is the month's first day), beside DailyStat.

    An officer's figures over a long range add up tens of rows here instead of thousands of
    daily rows spread over the table; the days at the ends of a range come from DailyStat.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "day", "model_version", "channel", "decision", "risk_band"], name="one_monthly_stat"
            )
        ]


class DailyTotal(DailyCounts):
    """The same counts for all officers together, per day x model version x channel x decision x band.

    What the history summary and monitoring read when no officer is chosen: over years, the
    per-officer rows run into millions (a million for 50 officers and 25 months, 0.3 s to add up),
    these into tens of thousands.
    """

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "model_version", "channel", "decision", "risk_band"], name="one_daily_total"
            )
        ]
        indexes = [models.Index(fields=["day"], name="dailytotal_day")]
