"""Reads of issued notices: a decision's notices, one notice if the user may see its decision."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts import permissions
from scoring.models import AdverseActionNotice, Prediction


def notice_list(*, prediction: Prediction) -> QuerySet[AdverseActionNotice]:
    """A decision's notices, newest first."""
    return (
        AdverseActionNotice.objects.filter(prediction=prediction).select_related("user").order_by("-created_at", "-id")
    )


def notice_get(*, user, pk: int) -> AdverseActionNotice | None:
    """One notice, if the user may see the decision it belongs to (officers their own, auditors all)."""
    visible = permissions.visible_predictions(user, Prediction.objects.all())
    return (
        AdverseActionNotice.objects.select_related("user", "prediction")
        .filter(pk=pk, prediction__in=visible.values("pk"))
        .first()
    )
