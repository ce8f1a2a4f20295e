"""API v1 of counterfactual offers: the alternatives the model would approve for a declined or referred decision."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts import permissions
from scoring.api.serializers import MAX_ID, ModelVersionRefSerializer
from scoring.api.views import BaseApi
from scoring.decisions import selectors
from scoring.models import Decision
from scoring.offers import alternatives as offers


class ChangeSerializer(serializers.Serializer):
    feature = serializers.CharField(help_text="The input's name, as in `inputs`.")
    label = serializers.CharField()
    before = serializers.JSONField(help_text="The value the decision scored.")
    after = serializers.JSONField(help_text="The value offered.")
    text = serializers.CharField(help_text="As an officer reads it: 'Loan amount 6,000 DM instead of 9,000 DM'.")


class AlternativeSerializer(serializers.Serializer):
    changes = ChangeSerializer(many=True, help_text="The inputs that change; every other input stays as it was.")
    terms = serializers.DictField(
        child=serializers.JSONField(),
        help_text="The changed inputs by name: send the decision's `inputs` with these over them to "
        "`POST /api/v1/score`, with `counter_offer_of`, to take the offer up.",
    )
    probability = serializers.FloatField(help_text="Probability of default with these terms, scored again.")
    decision = serializers.ChoiceField(choices=Decision.choices, help_text="Always `approve`.")
    risk_band = serializers.CharField()


class AlternativesSerializer(serializers.Serializer):
    prediction = serializers.IntegerField()
    decision = serializers.ChoiceField(choices=Decision.choices, help_text="The model's decision on the original.")
    model_version = ModelVersionRefSerializer(
        allow_null=True, help_text="The model that scored the alternatives (the active one); null when none apply."
    )
    message = serializers.CharField(
        help_text="What was found, or why there is no alternative (approved decision, nothing within the limits)."
    )
    alternatives = AlternativeSerializer(many=True, help_text="Up to three, fewest and smallest changes first.")


def alternatives_data(found: offers.Offers) -> dict:
    version = found.model_version
    return {
        "prediction": found.prediction.pk,
        "decision": found.prediction.decision,
        "model_version": None
        if version is None
        else {"id": version.pk, "name": version.name, "sha256": version.sha256},
        "message": found.message,
        "alternatives": [
            {
                "changes": [
                    {
                        "feature": c.feature.name,
                        "label": c.feature.label,
                        "before": c.before,
                        "after": c.after,
                        "text": c.text,
                    }
                    for c in alternative.changes
                ],
                "terms": {c.feature.name: c.after for c in alternative.changes},
                "probability": alternative.probability,
                "decision": alternative.decision,
                "risk_band": alternative.risk_band,
            }
            for alternative in found.alternatives
        ],
    }


class PredictionAlternativesApi(BaseApi):
    def allowed(self, user) -> bool:
        return permissions.can_view_all_predictions(user) or permissions.is_officer(user)

    @extend_schema(
        operation_id="prediction_alternatives",
        summary="What could be offered instead of a declined or referred decision",
        description="Up to three sets of terms the active model approves, each changing as few of the inputs "
        "the model's bundle marks actionable (amount, duration, a guarantor) by as little as possible, each "
        "scored again as a new application would be. Nothing is recorded. For an approved decision, or when "
        "nothing within the limits is approved, `alternatives` is empty and `message` says why.",
        responses={
            200: AlternativesSerializer,
            404: OpenApiResponse(description="No such decision, or not one you may see."),
            503: OpenApiResponse(description="No model is active."),
        },
    )
    def get(self, request, pk: int):
        prediction = selectors.prediction_get(user=request.user, pk=pk) if pk <= MAX_ID else None
        if prediction is None:
            raise Http404  # also for a decision that is not the user's: do not reveal it
        return Response(alternatives_data(offers.offers_for(prediction)))
