"""API v1 of adverse-action notices: issue one for a final decline, read the latest as JSON or PDF."""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.reverse import reverse

from accounts import permissions
from accounts.signals import record_notice_downloaded
from scoring.api.serializers import MAX_ID, StrictSerializer
from scoring.api.views import BaseApi
from scoring.decisions import selectors as decision_selectors
from scoring.models import AdverseActionNotice, Prediction
from scoring.notices import documents, selectors, services

FORMATS = ("json", "pdf")


class PdfRenderer(BaseRenderer):
    """Declares that the notice answers application/pdf, for content negotiation and the schema.

    The view answers the PDF itself, so this renderer never renders a body; errors are problems (problems.py).
    """

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        raise TypeError("PdfRenderer renders PDF bytes only; the notice view answers its own PDF.")


class NoticeRequestSerializer(StrictSerializer):
    applicant_name = serializers.CharField(
        max_length=services.NAME_MAX_LENGTH, help_text="As the letter should show it; printable text only."
    )
    applicant_address = serializers.CharField(
        max_length=services.ADDRESS_MAX_LENGTH,
        trim_whitespace=False,
        help_text=f"Postal address, one line per address line (at most {services.ADDRESS_MAX_LINES}).",
    )


class LenderSerializer(serializers.Serializer):
    name = serializers.CharField()
    address = serializers.CharField()


class ApplicantSerializer(serializers.Serializer):
    name = serializers.CharField()
    address = serializers.ListField(child=serializers.CharField(), help_text="Address lines.")


class NoticeLinksSerializer(serializers.Serializer):
    self = serializers.URLField(help_text="This notice as JSON (the latest notice of the decision).")
    pdf = serializers.URLField(help_text="This notice as PDF.")
    html = serializers.URLField(help_text="This notice as a print-ready web page.")


class NoticeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    prediction = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    issued_by = serializers.CharField()
    sha256 = serializers.CharField(help_text="sha256 of the notice's text as issued.")
    date = serializers.DateField()
    lender = LenderSerializer()
    applicant = ApplicantSerializer()
    action = serializers.CharField(help_text="The action taken, as the applicant reads it.")
    reasons = serializers.ListField(
        child=serializers.CharField(), max_length=services.MAX_REASONS, help_text="Principal reasons, strongest first."
    )
    statutory_text = serializers.ListField(child=serializers.CharField(), help_text="Paragraphs of the rights text.")
    links = NoticeLinksSerializer()


def notice_data(notice: AdverseActionNotice, request) -> dict:
    content = notice.content
    return {
        "id": notice.pk,
        "prediction": notice.prediction_id,
        "created_at": serializers.DateTimeField().to_representation(notice.created_at),
        "issued_by": notice.user.get_username(),
        "sha256": notice.sha256,
        "date": content["date"],
        "lender": content["lender"],
        "applicant": content["applicant"],
        "action": content["action"],
        "reasons": content["reasons"],
        "statutory_text": content["statutory_text"],
        "links": {
            "self": reverse("api:prediction-notice", args=[notice.prediction_id], request=request),
            "pdf": reverse("scoring:notice-pdf", args=[notice.pk], request=request),
            "html": reverse("scoring:notice-detail", args=[notice.pk], request=request),
        },
    }


def _prediction(user, pk: int) -> Prediction:
    prediction = decision_selectors.prediction_get(user=user, pk=pk) if pk <= MAX_ID else None
    if prediction is None:
        raise Http404  # also for a decision that is not the user's: do not reveal it
    return prediction


class PredictionNoticeApi(BaseApi):
    query_parameters = frozenset({"format"})

    def allowed(self, user) -> bool:
        if self.request.method in ("GET", "HEAD"):
            return permissions.can_view_all_predictions(user) or permissions.is_officer(user)
        return permissions.is_officer(user)

    def get_renderers(self):
        if self.request.method in ("GET", "HEAD"):
            return [JSONRenderer(), PdfRenderer()]
        return [JSONRenderer()]

    def perform_content_negotiation(self, request, force=False):
        wanted = request.query_params.get("format")
        if wanted is not None and wanted not in FORMATS:
            raise ValidationError({"format": [gettext("Use %(formats)s.") % {"formats": " or ".join(FORMATS)}]})
        return super().perform_content_negotiation(request, force)

    @extend_schema(
        operation_id="notice_create",
        summary="Issue an adverse-action notice for a final decline",
        description="For your own decision whose final outcome is a decline (the model's, with no review "
        "changing it, or a review's). The notice is stored with the decision exactly as issued and never changed; "
        "each call issues a new one.",
        request=NoticeRequestSerializer,
        responses={
            201: NoticeSerializer,
            409: OpenApiResponse(description="The decision's final outcome is not a decline; nothing was issued."),
        },
        examples=[
            OpenApiExample(
                "Applicant",
                value={"applicant_name": "Anna Schmidt", "applicant_address": "Hauptstrasse 5\n10115 Berlin"},
                request_only=True,
            )
        ],
    )
    def post(self, request, pk: int):
        prediction = _prediction(request.user, pk)
        serializer = NoticeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        notice = services.issue_notice(user=request.user, prediction=prediction, **serializer.validated_data)
        return Response(notice_data(notice, request), status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="notice_latest",
        summary="The decision's latest adverse-action notice",
        description="As JSON, or as the PDF with `?format=pdf` or `Accept: application/pdf`. Each read is "
        "recorded in the access log.",
        parameters=[
            OpenApiParameter(
                "format", OpenApiTypes.STR, enum=list(FORMATS), required=False, description="`pdf` for the PDF."
            )
        ],
        responses={
            (200, "application/json"): NoticeSerializer,
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The notice as PDF."),
            404: OpenApiResponse(description="No such decision, or no notice issued for it."),
        },
    )
    def get(self, request, pk: int):
        prediction = _prediction(request.user, pk)
        notice = selectors.notice_list(prediction=prediction).first()
        if notice is None:
            raise Http404
        record_notice_downloaded(request=request, user=request.user)
        if request.accepted_renderer.format == "pdf":
            return documents.notice_pdf_response(notice)
        return Response(notice_data(notice, request))
