"""API v1 of loan outcomes: report what happened to decided loans, many at once, all or nothing."""

from __future__ import annotations

import re
from datetime import date

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts import permissions
from scoring.api.problems import ProblemResponse, problem
from scoring.api.serializers import MAX_ID, StrictSerializer
from scoring.api.views import IDEMPOTENCY_HEADER, BaseApi, _idempotency_key
from scoring.models import LoanOutcome
from scoring.outcomes import services
from scoring.outcomes.rows import EXTERNAL_REF_LENGTH, MAX_DAYS_PAST_DUE, REASON_LENGTH

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer and nothing else: DRF's IntegerField would take "12", 12.0 and "1.0" as 12."""

    def to_internal_value(self, data):
        if not isinstance(data, int) or isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "format": "date"})
class IsoDateField(serializers.Field):
    """A date written YYYY-MM-DD exactly (DRF's DateField also takes 2025-1-5)."""

    default_error_messages = {"invalid": _("Give a date as YYYY-MM-DD.")}

    def to_internal_value(self, data):
        if not isinstance(data, str) or not _ISO_DATE.fullmatch(data):
            self.fail("invalid")
        try:
            return date.fromisoformat(data)
        except ValueError:
            self.fail("invalid")

    def to_representation(self, value):
        return value.isoformat()


class OutcomeRowRequestSerializer(StrictSerializer):
    decision_id = StrictIntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_ID, help_text="The decision's id; or external_ref."
    )
    external_ref = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=EXTERNAL_REF_LENGTH,
        help_text="The reference sent when the application was scored; must name exactly one decision.",
    )
    outcome = serializers.ChoiceField(choices=LoanOutcome.Outcome.choices)
    observed_on = IsoDateField(help_text="When the outcome was observed: not in the future, not before the decision.")
    days_past_due = StrictIntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=MAX_DAYS_PAST_DUE,
        help_text="Null or absent for a withdrawn loan.",
    )
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=REASON_LENGTH,
        help_text="Needed when the row corrects the decision's standing outcome.",
    )


class OutcomesRequestSerializer(StrictSerializer):
    outcomes = OutcomeRowRequestSerializer(many=True, min_length=1)

    def get_fields(self):
        fields = super().get_fields()
        # Read per request, like the schema's maxItems (scoring.api.schema), so both follow the setting.
        fields["outcomes"].max_length = settings.OUTCOMES_MAX_ROWS
        return fields


class OutcomesResultSerializer(serializers.Serializer):
    rows = serializers.IntegerField()
    stored = serializers.IntegerField(help_text="New outcomes: decisions that had none.")
    corrected = serializers.IntegerField(help_text="Corrections stored, each superseding the standing outcome.")
    unchanged = serializers.IntegerField(help_text="Rows equal to the standing outcome: nothing stored.")
    upload = serializers.IntegerField(
        allow_null=True, help_text="The id of the record of this set (each stored row's source_ref); null if none."
    )


class OutcomeRowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="1 for the first item of `outcomes`.")
    field = serializers.CharField()
    detail = serializers.CharField()


class OutcomesProblemSerializer(serializers.Serializer):
    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = OutcomeRowErrorSerializer(many=True)


class OutcomeCreateApi(BaseApi):
    def allowed(self, user) -> bool:
        return permissions.can_record_outcomes(user)

    @extend_schema(
        operation_id="outcome_create",
        summary="Report loan outcomes",
        description="What happened to decided loans, up to `OUTCOMES_MAX_ROWS` (10,000) rows, all or nothing. "
        "Each row names one decision by `decision_id` or `external_ref` (exactly one). A row equal to the "
        "decision's standing outcome is unchanged; a different one is a correction and needs `reason`. "
        "`201` when rows were stored, `200` when every row was unchanged (sending the same set again stores "
        "nothing). A well-formed set that breaks a rule (no such decision, a date in the future or before the "
        "decision, a correction without a reason, two rows for one decision, days past due for a withdrawn "
        "loan) is a `409` listing every row's errors; nothing is stored. Auditors and model administrators.",
        parameters=[IDEMPOTENCY_HEADER],
        request=OutcomesRequestSerializer,
        responses={
            201: OutcomesResultSerializer,
            200: OpenApiResponse(
                OutcomesResultSerializer,
                description="Every row was unchanged, or a replay of an earlier request with this Idempotency-Key.",
            ),
            409: OpenApiResponse(
                OutcomesProblemSerializer,
                description="Rows that break the rules, each in `errors` (row, field, detail); nothing was stored. "
                "Also: the Idempotency-Key was already used for a different set (no `errors`).",
            ),
        },
        examples=[
            OpenApiExample(
                "Outcomes",
                value={
                    "outcomes": [
                        {"external_ref": "LOS-2026-000123", "outcome": "repaid", "observed_on": "2026-06-30"},
                        {
                            "decision_id": 1234,
                            "outcome": "defaulted",
                            "observed_on": "2026-03-31",
                            "days_past_due": 95,
                            "reason": "Servicer reported the default late.",
                        },
                    ]
                },
                request_only=True,
            )
        ],
    )
    def post(self, request):
        key = _idempotency_key(request)
        serializer = OutcomesRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rows = serializer.validated_data["outcomes"]
        result = services.record_outcomes(
            rows,
            user=request.user,
            source=LoanOutcome.Source.API,
            source_ref="",
            sha256=services.content_sha256(rows),
            idempotency_key=key or "",
        )
        if not result.ok:
            body = problem(
                409,
                ngettext(
                    "%(count)d error in the outcomes; nothing was stored.",
                    "%(count)d errors in the outcomes; nothing was stored.",
                    len(result.errors),
                )
                % {"count": len(result.errors)},
                kind="invalid-outcomes",
            )
            body["errors"] = [{"row": e.row, "field": e.field, "detail": e.message} for e in result.errors]
            return ProblemResponse(body)
        data = {
            "rows": result.rows,
            "stored": result.stored,
            "corrected": result.corrected,
            "unchanged": result.unchanged,
            "upload": result.upload.pk if result.upload else None,
        }
        if result.replayed:
            return Response(data, status=status.HTTP_200_OK, headers={"Idempotent-Replayed": "true"})
        stored = result.stored or result.corrected
        return Response(data, status=status.HTTP_201_CREATED if stored else status.HTTP_200_OK)
