"""API v1 of model cards: ``GET /api/v1/models/{id}/card`` as JSON, PDF or the print-ready HTML page."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.reverse import reverse

from accounts import permissions
from accounts.signals import record_model_card_viewed
from scoring.api.notices import PdfRenderer
from scoring.api.serializers import MAX_ID
from scoring.api.views import BaseApi
from scoring.lifecycle.comparison import METRICS
from scoring.lifecycle.model_card_documents import model_card_page, model_card_pdf_response
from scoring.lifecycle.model_cards import ModelCard, model_card
from scoring.models import ModelVersion

FORMATS = ("json", "pdf", "html")
TRAIL_ACTIONS = ("registered", "loaded", "validated", "activated", "put_back", "replaced", "rolled_back")


class HtmlRenderer(BaseRenderer):
    """Declares that the card answers text/html (the print-ready page); the view answers the page itself."""

    media_type = "text/html"
    format = "html"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, str):
            return data.encode(self.charset)
        raise TypeError("HtmlRenderer renders a whole page only; the model card view answers its own page.")


class CardPersonSerializer(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.CharField(help_text="Full name, else the username.")


class CardFileHashSerializer(serializers.Serializer):
    name = serializers.CharField()
    sha256 = serializers.CharField()


class CardIdentitySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    label = serializers.CharField()
    status = serializers.ChoiceField(choices=ModelVersion.Status.choices)
    status_label = serializers.CharField()
    sha256 = serializers.CharField(help_text="sha256 of the model file.")
    source = serializers.ChoiceField(choices=ModelVersion.Source.choices)
    source_label = serializers.CharField()
    source_uri = serializers.CharField(
        allow_blank=True,
        help_text="The Hub repo id; for a bundle registered from a local folder, its path on the server, "
        "given to model administrators only (empty for other roles).",
    )
    hub_revision = serializers.CharField(allow_blank=True)
    hub_commit = serializers.CharField(allow_blank=True)
    hub_subfolder = serializers.CharField(allow_blank=True)
    files = CardFileHashSerializer(many=True, help_text="Every file of the bundle with its sha256.")
    created_at = serializers.DateTimeField()
    created_by = CardPersonSerializer(allow_null=True, help_text="null: registered by the system.")


class CardPurposeSerializer(serializers.Serializer):
    description = serializers.CharField(allow_blank=True)
    intended_use = serializers.CharField(allow_blank=True)
    intended_use_stated = serializers.BooleanField(
        help_text="false: the bundle states no intended use; `intended_use` is read from its target."
    )
    limitations = serializers.CharField(allow_blank=True, help_text="Empty: the bundle states none.")


class CardNameValueSerializer(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.CharField(allow_blank=True, help_text="As the bundle records it.")


class CardDataSerializer(serializers.Serializer):
    description = serializers.CharField(allow_blank=True)
    rows = serializers.IntegerField(allow_null=True)
    target = serializers.CharField(allow_blank=True)
    positive_class = serializers.CharField(allow_blank=True)
    target_meaning = serializers.CharField(allow_blank=True)
    settings = CardNameValueSerializer(many=True)
    holdout_metrics = CardNameValueSerializer(many=True)


class CardFeatureSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.CharField()
    kind_label = serializers.CharField()
    unit = serializers.CharField(allow_blank=True)
    choices = serializers.IntegerField(help_text="Number of choices (0 for a number).")
    min = serializers.FloatField(allow_null=True)
    max = serializers.FloatField(allow_null=True)
    section = serializers.CharField(allow_blank=True)


class CardCheckSerializer(serializers.Serializer):
    name = serializers.CharField()
    ok = serializers.BooleanField()
    detail = serializers.CharField(allow_blank=True)


class CardSampleSerializer(serializers.Serializer):
    file = serializers.CharField()
    rows = serializers.IntegerField()
    rows_scored = serializers.IntegerField()
    auc = serializers.FloatField(allow_null=True)
    ks = serializers.FloatField(allow_null=True)
    brier = serializers.FloatField(allow_null=True)
    approval_rate = serializers.FloatField(allow_null=True)


class CardBeforeAfterSerializer(serializers.Serializer):
    before = serializers.FloatField(allow_null=True, help_text="The version active at load.")
    after = serializers.FloatField(allow_null=True, help_text="This version.")


class CardMetricChangeSerializer(CardBeforeAfterSerializer):
    name = serializers.ChoiceField(choices=METRICS)
    label = serializers.CharField()


class CardSampleComparisonSerializer(serializers.Serializer):
    sample = serializers.CharField()
    compared = serializers.BooleanField()
    rows_compared = serializers.IntegerField(allow_null=True)
    decisions_flipped = serializers.IntegerField(allow_null=True)
    agreement_rate = serializers.FloatField(allow_null=True)
    problem = serializers.CharField(allow_blank=True)


class CardComparisonSerializer(serializers.Serializer):
    active_version_id = serializers.IntegerField(allow_null=True)
    active_version = serializers.CharField(allow_blank=True)
    error = serializers.CharField(allow_blank=True)
    features_added = serializers.ListField(child=serializers.CharField())
    features_removed = serializers.ListField(child=serializers.CharField())
    threshold = CardBeforeAfterSerializer()
    refer_from = CardBeforeAfterSerializer()
    metrics = CardMetricChangeSerializer(many=True, help_text="Each model on its own labelled sample.")
    samples = CardSampleComparisonSerializer(many=True)
    note = serializers.CharField(allow_blank=True)


class CardValidationSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    checked_at = serializers.DateTimeField(allow_null=True)
    validated_at = serializers.DateTimeField(allow_null=True)
    validated_by = CardPersonSerializer(allow_null=True)
    checks = CardCheckSerializer(many=True)
    sample = CardSampleSerializer(allow_null=True)
    comparison = CardComparisonSerializer(allow_null=True, help_text="null: no other version was active at load.")


class CardRiskBandSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField(allow_blank=True)
    pd_from = serializers.FloatField()
    pd_to = serializers.FloatField(help_text="Exclusive, except 1.0.")


class CardPolicySerializer(serializers.Serializer):
    threshold = serializers.FloatField(allow_null=True)
    refer_from = serializers.FloatField(allow_null=True)
    refer_to = serializers.FloatField(allow_null=True)
    risk_bands = CardRiskBandSerializer(many=True)


class CardReasonSerializer(serializers.Serializer):
    code = serializers.CharField(allow_blank=True)
    statement = serializers.CharField(allow_blank=True)


class CardFeatureReasonsSerializer(serializers.Serializer):
    feature = serializers.CharField()
    label = serializers.CharField()
    raises = CardReasonSerializer(help_text="Given when the feature's value raised the risk of default.")
    lowers = CardReasonSerializer(help_text="Given when it lowered it.")


class CardDriftedFeatureSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    psi = serializers.FloatField()
    level = serializers.CharField()


class CardDriftReportSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    observed_count = serializers.IntegerField()
    score_psi = serializers.FloatField(allow_null=True)
    max_psi = serializers.FloatField(allow_null=True)
    act_count = serializers.IntegerField()


class CardDriftSerializer(serializers.Serializer):
    report_id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    observed_count = serializers.IntegerField()
    score_psi = serializers.FloatField(allow_null=True)
    score_level = serializers.CharField(allow_blank=True)
    max_psi = serializers.FloatField(allow_null=True)
    watch_count = serializers.IntegerField()
    act_count = serializers.IntegerField()
    worst_features = CardDriftedFeatureSerializer(many=True)
    reports = CardDriftReportSummarySerializer(many=True, help_text="The latest reports of this version, newest first.")


class CardPerformanceSerializer(serializers.Serializer):
    with_outcome = serializers.IntegerField()
    not_booked = serializers.IntegerField()
    booked = serializers.IntegerField()
    defaults = serializers.IntegerField()
    default_rate = serializers.FloatField(allow_null=True)
    mean_pd = serializers.FloatField(allow_null=True)
    auc = serializers.FloatField(allow_null=True)
    ks = serializers.FloatField(allow_null=True)
    brier = serializers.FloatField(allow_null=True)
    first_decision = serializers.DateTimeField(allow_null=True)
    last_decision = serializers.DateTimeField(allow_null=True)


class CardFairnessGroupSerializer(serializers.Serializer):
    name = serializers.CharField()
    count = serializers.IntegerField()
    approved = serializers.IntegerField()
    approval_rate = serializers.FloatField(allow_null=True)
    ratio = serializers.FloatField(allow_null=True, help_text="Adverse impact ratio against the most approved group.")
    too_few = serializers.BooleanField()
    flagged = serializers.BooleanField()
    reference = serializers.BooleanField()


class CardFairnessTableSerializer(serializers.Serializer):
    attribute = serializers.CharField()
    label = serializers.CharField()
    not_recorded = serializers.IntegerField()
    groups = CardFairnessGroupSerializer(many=True)


class CardFairnessSerializer(serializers.Serializer):
    report_id = serializers.IntegerField()
    window_start = serializers.DateTimeField(allow_null=True)
    window_end = serializers.DateTimeField(allow_null=True)
    decisions = serializers.IntegerField()
    min_group = serializers.IntegerField(allow_null=True)
    tables = CardFairnessTableSerializer(many=True)


class CardTrailEventSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    action = serializers.ChoiceField(choices=TRAIL_ACTIONS)
    label = serializers.CharField()
    by = CardPersonSerializer(allow_null=True, help_text="null: the system.")
    detail = serializers.CharField(allow_blank=True)


class ModelCardLinksSerializer(serializers.Serializer):
    self = serializers.URLField(help_text="This card as JSON.")
    html = serializers.URLField(help_text="This card as a print-ready web page.")
    pdf = serializers.URLField(help_text="This card as PDF.")


class ModelCardSerializer(serializers.Serializer):
    generated_at = serializers.DateTimeField()
    identity = CardIdentitySerializer()
    purpose = CardPurposeSerializer()
    data = CardDataSerializer()
    features = CardFeatureSerializer(many=True)
    protected_attributes = CardFeatureSerializer(many=True, help_text="Recorded for fairness monitoring, never scored.")
    validation = CardValidationSerializer(allow_null=True, help_text="null: not validated yet.")
    policy = CardPolicySerializer()
    reasons = CardFeatureReasonsSerializer(many=True)
    drift = CardDriftSerializer(allow_null=True, help_text="null: no drift report for this version yet.")
    performance = CardPerformanceSerializer(allow_null=True, help_text="null: no loan outcome reported yet.")
    fairness = CardFairnessSerializer(allow_null=True, help_text="null: no drift report (with fairness tables) yet.")
    trail = CardTrailEventSerializer(many=True, help_text="Oldest first.")
    links = ModelCardLinksSerializer()


def card_data(card: ModelCard, request) -> dict:
    pk = card.identity["id"]
    return card.as_dict() | {
        "links": {
            "self": reverse("api:model-card", args=[pk], request=request),
            "html": reverse("audit:model-card", args=[pk], request=request),
            "pdf": reverse("audit:model-card-pdf", args=[pk], request=request),
        }
    }


class ModelCardApi(BaseApi):
    query_parameters = frozenset({"format"})

    def allowed(self, user) -> bool:
        return permissions.can_view_models(user)

    def get_renderers(self):
        return [JSONRenderer(), PdfRenderer(), HtmlRenderer()]

    def perform_content_negotiation(self, request, force=False):
        wanted = request.query_params.get("format")
        if wanted is not None and wanted not in FORMATS:
            raise ValidationError({"format": [_("Use %(formats)s.") % {"formats": ", ".join(FORMATS)}]})
        return super().perform_content_negotiation(request, force)

    @extend_schema(
        operation_id="model_card",
        summary="A model version's card",
        description="What the model is, its data, features, decision policy, reason codes, validation and "
        "comparison at load, drift, realised performance, fairness and approval trail, from stored data only. "
        "As JSON, as PDF (`?format=pdf` or `Accept: application/pdf`) or as the print-ready page (`?format=html` "
        "or `Accept: text/html`). Each read is recorded in the access log.",
        parameters=[
            OpenApiParameter(
                "format", OpenApiTypes.STR, enum=list(FORMATS), required=False, description="`pdf` or `html`."
            )
        ],
        responses={
            (200, "application/json"): ModelCardSerializer,
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The card as PDF."),
            (200, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="The card as a print-ready page."),
            404: OpenApiResponse(description="No such model version."),
        },
    )
    def get(self, request, model_version_id: int):
        version = None
        if model_version_id <= MAX_ID:  # a larger id is no row, and would overflow the database's integer
            version = ModelVersion.objects.filter(pk=model_version_id).first()
        if version is None:
            raise Http404
        card = model_card(version, user=request.user)
        record_model_card_viewed(request=request, user=request.user)
        if request.accepted_renderer.format == "pdf":
            return model_card_pdf_response(card, user=request.user)
        if request.accepted_renderer.format == "html":
            page = model_card_page(card, request=request._request)
            return HttpResponse(page, content_type="text/html; charset=utf-8")
        return Response(ModelCardSerializer(card_data(card, request)).data)
