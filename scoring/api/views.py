"""API v1 views: parse with a serializer, call one service or selector, render; errors become problems."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions as drf_permissions
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from accounts import permissions
from scoring.api import schema as api_schema
from scoring.api import serializers as s
from scoring.api.base import ApiView
from scoring.api.problems import PayloadTooLarge, existing_decision, flatten_errors
from scoring.decisions import selectors, services
from scoring.display.messages import engine_errors
from scoring.engine import InvalidApplication
from scoring.engine.schema import in_language
from scoring.exceptions import DuplicateApplication
from scoring.lifecycle import registry
from scoring.models import Channel, ModelVersion, Prediction

IDEMPOTENCY_KEY_MAX = 200
IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    # Visible ASCII, as _idempotency_key checks: "!" (0x21) to "~" (0x7E).
    {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX, "pattern": "^[!-~]+$"},
    OpenApiParameter.HEADER,
    required=False,
    description=f"1 to {IDEMPOTENCY_KEY_MAX} visible ASCII characters. The same key from the same user returns "
    "the stored prediction instead of scoring again; reusing it for a different body is a 409.",
)


class RolePermission(drf_permissions.BasePermission):
    """Ask accounts.permissions (the one place for access decisions) through the view's ``allowed`` check."""

    message = _("Your role does not allow this.")

    def has_permission(self, request, view):
        return bool(view.allowed(request.user))


class BaseApi(ApiView):
    permission_classes = [drf_permissions.IsAuthenticated, RolePermission]

    def allowed(self, user) -> bool:
        """Which roles may call the view; every endpoint says so, and an endpoint that does not is closed."""
        return False


def _idempotency_key(request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX or not all(32 < ord(c) < 127 for c in key):
        raise ValidationError(
            {"Idempotency-Key": [gettext("Use 1 to %(max)s visible ASCII characters.") % {"max": IDEMPOTENCY_KEY_MAX}]}
        )
    return key


class ScoreApi(BaseApi):
    def allowed(self, user) -> bool:
        return permissions.can_score(user)

    @extend_schema(
        operation_id="score",
        summary="Score one application",
        description="Scores with the active model and stores the decision (channel `api`) before answering.",
        parameters=[IDEMPOTENCY_HEADER],
        request=s.ScoreOneRequestSerializer,
        responses={
            201: s.PredictionSerializer,
            200: OpenApiResponse(s.PredictionSerializer, description="Replay of an earlier request with this key."),
            409: OpenApiResponse(
                s.DuplicateProblemSerializer,
                description="You decided this application (same `external_ref` or same inputs) within the last "
                "`DUPLICATE_WINDOW_DAYS` days: `existing` names that decision; send `force: true` to score "
                "again. Also: the Idempotency-Key was already used for a different request (no `existing`).",
            ),
        },
    )
    def post(self, request):
        key = _idempotency_key(request)
        serializer = s.ScoreOneRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        original = _counter_offer_original(request.user, data["counter_offer_of"])
        if key is None:
            prediction = services.score_application(
                user=request.user,
                inputs=data["inputs"],
                channel=Channel.API,
                external_ref=data["external_ref"],
                check_duplicates=not data["force"],
                counter_offer_of=original,
            )
            created = True
        else:
            prediction, created = services.score_application_once(
                user=request.user,
                inputs=data["inputs"],
                channel=Channel.API,
                external_ref=data["external_ref"],
                idempotency_key=key,
                check_duplicates=not data["force"],
                counter_offer_of=original,
            )
        headers = {} if created else {"Idempotent-Replayed": "true"}
        return Response(
            s.prediction_data(prediction),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
            headers=headers,
        )


def _counter_offer_original(user, pk: int | None) -> Prediction | None:
    """The decision a counter-offer names, if the user may see it; a 404 naming ``counter_offer_of`` otherwise.

    A 404, not a 400: the body is well formed, the decision it names is what is not there (for this user),
    as for GET /predictions/{id}; nothing is recorded."""
    if pk is None:
        return None
    original = selectors.prediction_get(user=user, pk=pk)
    if original is None:
        raise NotFound(gettext("counter_offer_of: no decision #%(pk)s that you may see.") % {"pk": pk})
    return original


class ScoreManyApi(BaseApi):
    def allowed(self, user) -> bool:
        return permissions.can_score(user)

    @extend_schema(
        operation_id="score_many",
        summary="Score many applications at once",
        description="Up to `API_SCORE_MANY_LIMIT` (default 1,000) applications, scored together. Each item gets "
        "its prediction or its field errors; valid items are stored even when others are invalid. An item you "
        "decided recently is not scored again unless it says `force: true`: it gets `duplicate_of`. "
        "Larger inputs get a 413: submit them as a batch job (`/api/v1/batch-jobs`).",
        request=s.ScoreManyRequestSerializer,
        responses={200: s.ScoreManyResponseSerializer},
    )
    def post(self, request):
        serializer = s.ScoreManyRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        items = serializer.validated_data["applications"]
        limit = settings.API_SCORE_MANY_LIMIT
        if len(items) > limit:
            raise PayloadTooLarge(
                f"{len(items)} applications is more than the {limit} this endpoint scores at once; "
                "submit them as a batch job at /api/v1/batch-jobs."
            )
        # One serializer instance for every item and one for every result: DRF builds a serializer's
        # fields on first use, and doing that 1,000 times costs more than the scoring itself.
        item_serializer = s.ScoreRequestSerializer()
        parsed: list[tuple[int, dict, str, bool]] = []
        results: list[dict] = [{} for _ in items]
        for index, item in enumerate(items):
            try:
                data = item_serializer.run_validation(item)
            except ValidationError as exc:
                results[index] = {
                    "index": index,
                    "prediction": None,
                    "errors": flatten_errors(exc.detail),
                    "duplicate_of": None,
                }
            else:
                parsed.append((index, data["inputs"], data["external_ref"], data["force"]))
        outcomes = services.score_applications(
            user=request.user,
            applications=[(inputs, ref) for _, inputs, ref, _ in parsed],
            channel=Channel.API,
            check_duplicates=[not force for *_, force in parsed],
        )
        scored = [(index, outcome) for (index, *_), outcome in zip(parsed, outcomes, strict=True)]
        predictions = [outcome for _, outcome in scored if isinstance(outcome, Prediction)]
        rendered = iter([s.prediction_data(p) for p in predictions])
        for index, outcome in scored:
            if isinstance(outcome, InvalidApplication):
                errors = {f"inputs.{k}" if k != "inputs" else k: v for k, v in engine_errors(outcome.errors).items()}
                results[index] = {"index": index, "prediction": None, "errors": errors, "duplicate_of": None}
            elif isinstance(outcome, DuplicateApplication):
                results[index] = {
                    "index": index,
                    "prediction": None,
                    "errors": {"force": [f'{outcome} Send "force": true to score it again.']},
                    "duplicate_of": existing_decision(outcome.existing, request),
                }
            else:
                results[index] = {"index": index, "prediction": next(rendered), "errors": None, "duplicate_of": None}
        scored = sum(1 for r in results if r["prediction"] is not None)
        return Response({"scored": scored, "rejected": len(results) - scored, "results": results})


class PredictionListApi(BaseApi):
    query_parameters = frozenset(s.PredictionQuerySerializer().fields)

    def allowed(self, user) -> bool:
        return permissions.can_view_all_predictions(user) or permissions.is_officer(user)

    @extend_schema(
        operation_id="prediction_list",
        summary="Decision history",
        description="Auditors see every decision, officers their own; newest first, cursor-paginated.",
        parameters=[s.PredictionQuerySerializer],
        responses={200: s.PredictionPageSerializer},
    )
    def get(self, request):
        query = s.PredictionQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        qs = selectors.with_final_decision(selectors.prediction_list(user=request.user, filters=query.filters()))
        # batch_job: its header reads input_line; the versions' bulky JSON is not part of a list
        qs = qs.select_related("model_version", "user", "batch_job").defer(*selectors.VERSION_BULK)
        page = selectors.keyset_page(
            qs, cursor=query.validated_data.get("cursor"), size=query.validated_data["page_size"]
        )
        return Response({"results": [s.prediction_data(p) for p in page.items], "next_cursor": page.next_cursor})


def _visible_prediction(user, pk: int) -> Prediction:
    if pk > s.MAX_ID:
        raise Http404
    qs = selectors.with_final_decision(selectors.prediction_list(user=user)).select_related(
        "model_version", "user", "batch_job"
    )
    prediction = qs.filter(pk=pk).first()
    if prediction is None:
        raise Http404  # also for a prediction that exists but is not the user's: do not reveal it
    return prediction


class PredictionDetailApi(BaseApi):
    def allowed(self, user) -> bool:
        return permissions.can_view_all_predictions(user) or permissions.is_officer(user)

    @extend_schema(
        operation_id="prediction_detail",
        summary="One decision with its reviews",
        responses=s.PredictionDetailSerializer,
    )
    def get(self, request, pk: int):
        return Response(s.PredictionDetailSerializer(_visible_prediction(request.user, pk)).data)


class ReviewCreateApi(BaseApi):
    def allowed(self, user) -> bool:
        return permissions.is_officer(user)

    @extend_schema(
        operation_id="review_create",
        summary="Review your own decision, or decide your team's open referral",
        description="Agree, or override with a reason code and a justification (at least 10 characters). "
        "A referred case needs `approve` or `decline`. Reviews are appended, never edited. A change beyond "
        "the officer's authority (an override above `OVERRIDE_PD_LIMIT`, or any change of a decision that "
        "carries their own override) is recorded with `status` `pending_approval` and answered `202`: it "
        "counts once a credit manager approves it, and no other review is taken until then.",
        request=s.ReviewRequestSerializer,
        responses={
            201: s.ReviewSerializer,
            202: OpenApiResponse(
                s.ReviewSerializer,
                description="Recorded, waiting for a credit manager's approval (`status`: `pending_approval`).",
            ),
            409: OpenApiResponse(
                description="The outcome does not fit the decision: agreeing with a referred case, "
                "'overriding' to the model's own decision, or a change already waiting for approval (see `errors`)."
            ),
        },
        examples=[
            OpenApiExample(
                "Override",
                value={"outcome": "approve", "reason_code": "collateral", "justification": "Guarantor signed today."},
                request_only=True,
            )
        ],
    )
    def post(self, request, pk: int):
        prediction = _visible_prediction(request.user, pk)
        serializer = s.ReviewRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = services.record_review(user=request.user, prediction=prediction, **serializer.validated_data)
        answer = status.HTTP_202_ACCEPTED if review.needs_approval else status.HTTP_201_CREATED
        return Response(s.ReviewSerializer(review).data, status=answer)


class ModelListApi(BaseApi):
    def allowed(self, user) -> bool:
        return permissions.can_view_models(user)

    @extend_schema(operation_id="model_list", summary="Model versions", responses=s.ModelVersionSerializer(many=True))
    def get(self, request):
        versions = ModelVersion.objects.order_by("-created_at", "-id")[:500]
        return Response(s.ModelVersionSerializer(versions, many=True, context={"request": request}).data)


class ModelActiveApi(BaseApi):
    def allowed(self, user) -> bool:
        return permissions.has_any_role(user)

    @extend_schema(
        operation_id="model_active",
        summary="The active model and its input schema",
        description="Everything needed to build a valid score request: `input_schema` (JSON Schema of "
        "`inputs`) and `input_example`.",
        responses=s.ActiveModelSerializer,
    )
    def get(self, request):
        active = registry.get_active()
        model = active.model
        language = get_language() or "en"
        return Response(
            s.ActiveModelSerializer(
                {
                    "version": active.version,
                    # Labels, help, choices and reasons in the request's language (Accept-Language).
                    "features": [f.in_language(language).as_dict() for f in model.features],
                    "protected_attributes": [f.in_language(language).as_dict() for f in model.protected],
                    "input_schema": api_schema.inputs_json_schema(model),
                    "input_example": api_schema.example_inputs(model),
                    "threshold": model.threshold,
                    "refer_band": {"lower": model.refer_lower, "upper": model.threshold},
                    "risk_bands": in_language(model.bands, language),
                },
                context={"request": request},
            ).data
        )
