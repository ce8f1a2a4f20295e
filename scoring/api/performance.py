"""API v1 of realised performance: a model version's scores against reported loan outcomes, per monthly vintage.

``GET /api/v1/models/{id}/performance`` and ``GET /api/v1/models/active/performance`` answer the
figures of the monitoring page (the same cached snapshot), for auditors and model administrators.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from accounts import permissions
from scoring.api.serializers import MAX_ID
from scoring.api.views import BaseApi
from scoring.models import ModelVersion
from scoring.monitoring import performance

_RATE = "A share from 0 to 1; null when there is no loan with an outcome."
_RANKING = "Null when it cannot be computed: no outcome, or only repaid or only defaulted loans."


class FlagSerializer(serializers.Serializer):
    figure = serializers.ChoiceField(
        choices=[performance.AUC, performance.KS, performance.CALIBRATION],
        help_text="`auc` or `ks`: below the validation figure less its margin; `calibration`: the observed default "
        "rate above the mean predicted PD plus its (relative) margin.",
    )
    realised = serializers.FloatField(help_text="The realised figure.")
    reference = serializers.FloatField(help_text="The validation AUC or KS, or the mean predicted PD.")
    limit = serializers.FloatField(help_text="The value the realised figure crossed.")


class FiguresSerializer(serializers.Serializer):
    decisions = serializers.IntegerField(help_text="Decisions made.")
    approved = serializers.IntegerField(help_text="Decisions whose final decision (after reviews) is approve.")
    outcomes = serializers.IntegerField(help_text="Booked loans with a known outcome: what the figures measure.")
    defaults = serializers.IntegerField(help_text="Of those, defaulted or written off.")
    default_rate = serializers.FloatField(allow_null=True, help_text=_RATE)
    mean_pd = serializers.FloatField(allow_null=True, help_text="Mean predicted probability of default. " + _RATE)
    calibration_gap = serializers.FloatField(
        allow_null=True,
        help_text="Observed default rate less mean predicted PD (positive: more defaults than predicted).",
    )
    auc = serializers.FloatField(allow_null=True, help_text="Area under the ROC curve. " + _RANKING)
    gini = serializers.FloatField(allow_null=True, help_text="2 x AUC - 1. " + _RANKING)
    ks = serializers.FloatField(allow_null=True, help_text="Kolmogorov-Smirnov statistic. " + _RANKING)
    brier = serializers.FloatField(allow_null=True, help_text="Mean squared gap between PD and outcome.")
    status = serializers.ChoiceField(
        choices=[performance.OK, performance.FLAGGED, performance.TOO_FEW],
        help_text="`too_few`: fewer booked loans with an outcome than `min_outcomes`, nothing is judged.",
    )
    flags = FlagSerializer(many=True)


class VintageSerializer(serializers.Serializer):
    month = serializers.DateField(help_text="First day of the month the decisions were made.")
    figures = FiguresSerializer()


class CalibrationRowSerializer(serializers.Serializer):
    decile = serializers.IntegerField()
    count = serializers.IntegerField()
    pd_low = serializers.FloatField()
    pd_high = serializers.FloatField()
    mean_pd = serializers.FloatField()
    default_rate = serializers.FloatField()
    defaults = serializers.IntegerField()


class FunnelSerializer(serializers.Serializer):
    decided = serializers.IntegerField()
    approved = serializers.IntegerField(help_text="Final decision approve, after reviews that stand.")
    reported = serializers.IntegerField(help_text="Approved, with an outcome reported (withdrawn included).")
    booked = serializers.IntegerField(help_text="Approved and booked (an outcome other than withdrawn).")
    defaulted = serializers.IntegerField()
    reported_not_approved = serializers.IntegerField(
        help_text="Outcomes reported on decisions whose final decision is not approve."
    )


class ApprovalGroupSerializer(serializers.Serializer):
    origin = serializers.ChoiceField(
        choices=["model", "officer", "officer_referral", "officer_decline"],
        help_text="`model`: the model approved; `officer`: the model said decline or refer and an officer's standing "
        "review approved (`officer_referral` and `officer_decline` split it).",
    )
    approved = serializers.IntegerField()
    booked = serializers.IntegerField(help_text="Booked loans with a known outcome.")
    defaulted = serializers.IntegerField()
    default_rate = serializers.FloatField(allow_null=True)


class RealisedPerformanceSerializer(serializers.Serializer):
    version_id = serializers.IntegerField()
    version_label = serializers.CharField()
    computed_at = serializers.DateTimeField(help_text="When the figures were computed (they are cached).")
    reference_auc = serializers.FloatField(allow_null=True, help_text="AUC on the version's validation sample.")
    reference_ks = serializers.FloatField(allow_null=True, help_text="KS on the version's validation sample.")
    auc_margin = serializers.FloatField()
    ks_margin = serializers.FloatField()
    calibration_margin = serializers.FloatField(help_text="Relative: 0.25 flags a default rate above 1.25 x PD.")
    min_outcomes = serializers.IntegerField()
    flagged = serializers.BooleanField(help_text="The figures over all vintages are flagged.")
    overall = FiguresSerializer()
    vintages = VintageSerializer(many=True)
    calibration = CalibrationRowSerializer(many=True, help_text="Reliability by PD decile, all vintages.")
    funnel = FunnelSerializer()
    approvals = ApprovalGroupSerializer(many=True)
    declined_by_officer = serializers.IntegerField(
        help_text="Decisions the model approved and an officer declined: no loan, no outcome expected."
    )
    declined_by_officer_reported = serializers.IntegerField(help_text="Outcomes reported on those anyway.")


_RESPONSES = {
    200: RealisedPerformanceSerializer,
    403: OpenApiResponse(description="Only auditors and model administrators see realised performance."),
}


class _PerformanceApi(BaseApi):
    def allowed(self, user) -> bool:
        return permissions.can_view_monitoring(user)

    def answer(self, version: ModelVersion) -> Response:
        found = performance.cached_realised_performance(version)
        return Response(RealisedPerformanceSerializer(performance.as_dict(found)).data)


class ModelPerformanceApi(_PerformanceApi):
    @extend_schema(
        operation_id="model_performance",
        summary="Realised performance of a model version",
        description="The version's decisions against the loan outcomes reported for them, overall and per monthly "
        "vintage: AUC, Gini, KS, Brier, default rate against mean predicted PD, the reliability table, the funnel "
        "from decision to default and officer approvals apart from the model's. Computed at most once per "
        "`PERFORMANCE_CACHE_SECONDS`; `computed_at` says when.",
        responses=_RESPONSES | {404: OpenApiResponse(description="No such model version.")},
    )
    def get(self, request, pk: int):
        version = ModelVersion.objects.filter(pk=pk).first() if pk <= MAX_ID else None
        if version is None:
            raise NotFound(_("There is no model version %(id)s.") % {"id": pk})
        return self.answer(version)


class ActiveModelPerformanceApi(_PerformanceApi):
    @extend_schema(
        operation_id="model_active_performance",
        summary="Realised performance of the active model version",
        description="As `/api/v1/models/{id}/performance`, for the version active now.",
        responses=_RESPONSES | {404: OpenApiResponse(description="No model version is active.")},
    )
    def get(self, request):
        version = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()
        if version is None:
            raise NotFound(_("No model version is active."))
        return self.answer(version)
