"""API serializers: thin request parsing (inputs are checked by the engine, as for the form) and response shapes."""

from __future__ import annotations

import re
from datetime import date

from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts import permissions
from scoring import display
from scoring.decisions import references
from scoring.decisions.presentation import approval_of
from scoring.decisions.selectors import CURSOR_PATTERN, PredictionFilters, decode_cursor
from scoring.models import Channel, Decision, ModelVersion, Review

# Largest id a client can ask about: beyond a 63-bit integer no row exists (and databases refuse the value).
MAX_ID = 2**63 - 1


class StrictSerializer(serializers.Serializer):
    """Unknown fields are an error, not silently dropped: a typo must not pass for a default."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(str(k)[:100] for k in set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [gettext("Unknown field.")] for name in unknown})
        return super().to_internal_value(data)


class ApplicationInputsField(serializers.Field):
    """An application's inputs, an object checked against the active model's schema by the scoring service.

    Its OpenAPI schema is generated from the active model (``scoring.api.schema``).
    """

    default_error_messages = {"not_object": _("Expected an object of field names to values.")}

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("not_object")
        return data

    def to_representation(self, value):
        return value


@extend_schema_field(
    {"type": "string", "maxLength": references.MAX_LENGTH, "pattern": references.PATTERN},
)
class ReferenceField(serializers.CharField):
    """An application reference, checked by the one rule in scoring.decisions.references.

    Checked as sent: DRF's trimming would let a tab or line break at either end pass a rule
    the schema's pattern refuses. The service trims spaces when it stores the reference.
    """

    default_error_messages = {"not_text": _("Expected text.")}

    def __init__(self, **kwargs):
        super().__init__(trim_whitespace=False, **kwargs)

    def run_validation(self, data=serializers.empty):
        # Blank is a valid reference (the pattern allows it); CharField's allow_blank would do the same but
        # makes drf-spectacular wrap the pattern in a oneOf that a blank value matches twice.
        if data == "":
            return ""
        return super().run_validation(data)

    def to_internal_value(self, data):
        if not isinstance(data, str):  # CharField would turn 12 into "12": a reference is text or an error
            self.fail("not_text")
        problem = references.reference_problem(data)
        if problem:
            raise serializers.ValidationError(problem)
        return data


class JsonBooleanField(serializers.BooleanField):
    """true or false as JSON booleans only: DRF's BooleanField would also take "yes", 1 or "off"."""

    default_error_messages = {"invalid": _("Expected true or false.")}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class ScoreRequestSerializer(StrictSerializer):
    inputs = ApplicationInputsField()
    external_ref = ReferenceField(
        required=False, default="", help_text="Your reference for the application. " + references.RULE_TEXT
    )
    force = JsonBooleanField(
        required=False,
        default=False,
        help_text="Score and record even if you decided the same application (same `external_ref`, or the "
        "same inputs once validated) within the last `DUPLICATE_WINDOW_DAYS` days; without it, that is a 409 "
        "naming the existing decision.",
    )


class StrictIdField(serializers.IntegerField):
    """An id as a JSON integer only: DRF's IntegerField would also take "12" or 12.0."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class ScoreOneRequestSerializer(ScoreRequestSerializer):
    counter_offer_of = StrictIdField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=MAX_ID,
        help_text="The id of a declined or referred decision you may see whose offered terms "
        "(`/api/v1/predictions/{id}/alternatives`) this application takes up; the new decision is recorded "
        "as its counter-offer. It keeps the original's reference: only the same inputs count as a duplicate.",
    )


@extend_schema_field(ScoreRequestSerializer(many=True))
class ApplicationListField(serializers.ListField):
    """Items are checked one by one so that one bad item does not reject the others."""

    # null too: like 1 or [], a null item gets its own error in the results instead of failing the request.
    child = serializers.JSONField(allow_null=True)


class ScoreManyRequestSerializer(StrictSerializer):
    applications = ApplicationListField(allow_empty=False)


# Whitespace for the justification rule: Python's str.isspace() characters and ECMA-262's \s together, so the
# schema's pattern and this check agree however a client's regex engine reads "space".
_SPACE = (
    "[\\t\\n\\u000B\\f\\r \\u001C-\\u001F\\u0085\\u00A0\\u1680\\u2000-\\u200A"
    "\\u2028\\u2029\\u202F\\u205F\\u3000\\uFEFF]"
)
JUSTIFICATION_MIN = 10
# At least ten characters that are not spaces (so also ten once trimmed, as the review service demands).
JUSTIFICATION_PATTERN = f"^(?:{_SPACE}*[^{_SPACE[1:-1]}]){{{JUSTIFICATION_MIN}}}[\\s\\S]*$"
_JUSTIFIED = re.compile(JUSTIFICATION_PATTERN.removeprefix("^").removesuffix("$"))


class ReviewRequestSerializer(StrictSerializer):
    """Agree (nothing else needed), or decide: approve/decline with a reason code and a written justification.

    Its schema (``scoring.api.schema``) states the two shapes as a oneOf, so a client knows before sending.
    """

    outcome = serializers.ChoiceField(choices=Review.Outcome.choices)
    reason_code = serializers.ChoiceField(
        choices=Review.ReasonCode.choices, required=False, allow_blank=True, default=""
    )
    justification = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, default="", trim_whitespace=False
    )

    def validate(self, attrs):
        if attrs["outcome"] != Review.Outcome.AGREE:
            errors = {}
            if not attrs["reason_code"]:
                errors["reason_code"] = [gettext("Approving or declining needs a reason code.")]
            if not _JUSTIFIED.fullmatch(attrs["justification"]):
                errors["justification"] = [
                    gettext(
                        "Approving or declining needs a written justification (at least %(min)s "
                        "characters besides spaces)."
                    )
                    % {"min": JUSTIFICATION_MIN}
                ]
            if errors:
                raise serializers.ValidationError(errors)
        return attrs


class PredictionQuerySerializer(serializers.Serializer):
    """Query parameters of the predictions list: the history filters plus the cursor."""

    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    user = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    model_version = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    decision = serializers.ChoiceField(choices=Decision.choices, required=False)
    final_decision = serializers.ChoiceField(choices=Decision.choices, required=False)
    risk_band = serializers.CharField(required=False, max_length=10)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    batch_job = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    external_ref = ReferenceField(required=False)
    # Read from a plain dict (see PredictionListApi), so that absent means "either", not False, and an
    # empty value is an error like any other value that is not a boolean.
    overridden = serializers.BooleanField(required=False)
    reviewed = serializers.BooleanField(required=False)
    cursor = serializers.RegexField(
        CURSOR_PATTERN, required=False, max_length=36, help_text="`next_cursor` of the previous page."
    )
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)

    def validate_date_to(self, value: date) -> date:
        if value >= date.max:
            raise serializers.ValidationError(gettext("Date is out of range."))
        return value

    def validate_cursor(self, value: str) -> str:
        if decode_cursor(value) is None:
            raise serializers.ValidationError(gettext("Not a cursor from this API."))
        return value

    def filters(self) -> PredictionFilters:
        d = self.validated_data
        return PredictionFilters(
            date_from=d.get("date_from"),
            date_to=d.get("date_to"),
            user_id=d.get("user"),
            model_version_id=d.get("model_version"),
            decision=d.get("decision"),
            final_decision=d.get("final_decision"),
            risk_band=d.get("risk_band"),
            channel=d.get("channel"),
            batch_job_id=d.get("batch_job"),
            external_ref=d.get("external_ref"),
            overridden=d.get("overridden"),
            reviewed=d.get("reviewed"),
        )


# --- responses ------------------------------------------------------------------------


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "number"}]})
class ReasonValueField(serializers.JSONField):
    pass


class ReasonSerializer(serializers.Serializer):
    feature = serializers.CharField()
    label = serializers.CharField()
    value = ReasonValueField()
    contribution = serializers.FloatField(
        allow_null=True,
        help_text="SHAP value in log-odds: positive raised the risk. Null for a credit policy rule (no weight).",
    )
    rule = serializers.BooleanField(
        default=False,
        help_text="True when a credit policy rule decided and this is its statement (it comes first), "
        "false for the model's reasons.",
    )
    code = serializers.CharField(
        allow_null=True, help_text="The reason code from the model's library; null on decisions recorded before codes."
    )
    statement = serializers.CharField(
        help_text="The reason as an applicant reads it, such as 'Insufficient savings' (older decisions: the sentence)."
    )
    sentence = serializers.CharField(help_text="The statement with the value that drove it, as officers read it.")


class ModelVersionRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    sha256 = serializers.CharField()


class ApprovalSerializer(serializers.Serializer):
    user = serializers.CharField(source="user.get_username")
    approved = serializers.BooleanField()
    note = serializers.CharField()
    created_at = serializers.DateTimeField()


class ReviewSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    prediction = serializers.IntegerField(source="prediction_id")
    user = serializers.CharField(source="user.get_username")
    outcome = serializers.ChoiceField(choices=Review.Outcome.choices)
    final_decision = serializers.ChoiceField(choices=Decision.choices)
    overridden = serializers.BooleanField()
    reason_code = serializers.CharField()
    justification = serializers.CharField()
    created_at = serializers.DateTimeField()
    status = serializers.SerializerMethodField(
        help_text="`recorded`: the review counts. Beyond the officer's authority (`OVERRIDE_PD_LIMIT`, or a "
        "change of their own override) it is `pending_approval` until a credit manager answers: then "
        "`approved` (it counts) or `rejected` (the outcome before it stands)."
    )
    approval = serializers.SerializerMethodField(help_text="The credit manager's answer, once given.")

    @extend_schema_field(serializers.ChoiceField(choices=["recorded", "pending_approval", "approved", "rejected"]))
    def get_status(self, obj) -> str:
        if not obj.needs_approval:
            return "recorded"
        answer = approval_of(obj)
        if answer is None:
            return "pending_approval"
        return "approved" if answer.approved else "rejected"

    @extend_schema_field(ApprovalSerializer(allow_null=True))
    def get_approval(self, obj):
        answer = approval_of(obj) if obj.needs_approval else None
        return None if answer is None else ApprovalSerializer(answer).data


def in_request_language(reasons: list, prediction) -> list:
    """Recorded reasons with each model reason's statement and label in the request's language
    (Accept-Language, else the profile's): read by code from the version's reason library. Stored in
    English; codes, values and the officer's sentence never change. A policy rule's statement is left as is."""
    language = get_language() or "en"
    if language == "en" or not reasons:
        return reasons
    statements, labels = display.reason_library(prediction.model_version, language)
    return [
        r
        if not isinstance(r, dict) or r.get("rule")
        else {
            **r,
            "label": labels.get(str(r.get("feature"))) or r.get("label"),
            "statement": statements.get(str(r.get("code"))) or r.get("statement"),
        }
        for r in reasons
    ]


class PredictionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    user = serializers.CharField(source="user.get_username")
    channel = serializers.ChoiceField(choices=Channel.choices)
    external_ref = serializers.CharField()
    probability = serializers.FloatField(help_text="Probability of default, 0 to 1.")
    decision = serializers.ChoiceField(choices=Decision.choices)
    threshold = serializers.FloatField(help_text="Decline at or above this probability.")
    refer_lower = serializers.FloatField(allow_null=True, help_text="Refer at or above this probability.")
    risk_band = serializers.CharField()
    reasons = ReasonSerializer(many=True)
    model_version = ModelVersionRefSerializer()
    inputs = serializers.DictField(
        source="given_inputs",
        child=serializers.JSONField(),
        help_text="The inputs exactly as received (for a batch row: its CSV line, by column).",
    )
    model_decision = serializers.SerializerMethodField(
        help_text="The model's own decision from its threshold and refer band, before the credit policy; "
        "`decision` is the policy's. Null on decisions recorded before the credit policy existed.",
    )
    policy_version = serializers.IntegerField(
        allow_null=True, help_text="Id of the credit policy version live for this decision; null when none was."
    )
    policy_rules = serializers.ListField(
        child=serializers.CharField(), help_text="Codes of every credit policy rule that fired, in policy order."
    )
    deciding_rule = serializers.SerializerMethodField(
        help_text="Code of the credit policy rule that changed the model's decision; null when the model decided.",
    )
    final_decision = serializers.SerializerMethodField(
        help_text="The latest review's decision that stands (approved, when it needed approval), else the model's."
    )
    pending_approval = serializers.SerializerMethodField(
        help_text="A change of the decision waits for a credit manager's approval; `final_decision` is the "
        "outcome that stands until then."
    )
    counter_offer_of = serializers.IntegerField(
        source="counter_offer_of_id",
        allow_null=True,
        help_text="The decision this one is a counter-offer of (it took up terms offered there), or null.",
    )

    @extend_schema_field(serializers.ChoiceField(choices=Decision.choices))
    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["reasons"] = in_request_language(data["reasons"], instance)
        return data

    def get_final_decision(self, obj) -> str:
        final = getattr(obj, "final", None)
        return final or obj.decision

    def get_pending_approval(self, obj) -> bool:
        return bool(getattr(obj, "pending", False))

    @extend_schema_field(serializers.ChoiceField(choices=Decision.choices, allow_null=True))
    def get_model_decision(self, obj) -> str | None:
        return obj.model_decision or None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_deciding_rule(self, obj) -> str | None:
        return obj.deciding_rule or None


_CREATED_AT = serializers.DateTimeField()


def prediction_data(prediction) -> dict:
    """What ``PredictionSerializer(prediction).data`` gives, built directly.

    Every scoring response and history page is made of these; DRF's field-by-field serializer
    (copying its fields for each instance) was about a tenth of a scoring request. The serializer
    stays the documented contract, and a test checks that the two agree field for field.
    """
    version = prediction.model_version
    refer_lower = prediction.refer_lower
    external_ref = prediction.external_ref
    return {
        "id": prediction.id,
        "created_at": _CREATED_AT.to_representation(prediction.created_at),
        "user": prediction.user.get_username(),
        "channel": str(prediction.channel),
        "external_ref": None if external_ref is None else str(external_ref),
        "probability": float(prediction.probability),
        "decision": str(prediction.decision),
        "threshold": float(prediction.threshold),
        "refer_lower": None if refer_lower is None else float(refer_lower),
        "risk_band": str(prediction.risk_band),
        "reasons": [
            {
                "feature": str(r["feature"]),
                "label": str(r["label"]),
                "value": r["value"],
                "contribution": None if r.get("contribution") is None else float(r["contribution"]),
                "rule": bool(r.get("rule")),
                "code": None if r.get("code") is None else str(r["code"]),
                "statement": str(r.get("statement") or r["sentence"]),
                "sentence": str(r["sentence"]),
            }
            for r in in_request_language(prediction.reasons, prediction)
        ],
        "model_version": {"id": version.id, "name": str(version.name), "sha256": str(version.sha256)},
        "inputs": {str(k): v for k, v in prediction.given_inputs.items()},
        "model_decision": str(prediction.model_decision) or None,
        "policy_version": prediction.policy_version_id,
        "policy_rules": [str(code) for code in prediction.policy_rules or ()],
        "deciding_rule": str(prediction.deciding_rule) or None,
        "final_decision": getattr(prediction, "final", None) or prediction.decision,
        "pending_approval": bool(getattr(prediction, "pending", False)),
        "counter_offer_of": prediction.counter_offer_of_id,
    }


class PredictionDetailSerializer(PredictionSerializer):
    reviews = serializers.SerializerMethodField()

    @extend_schema_field(ReviewSerializer(many=True))
    def get_reviews(self, obj):
        reviews = obj.reviews.select_related("user", "approval", "approval__user").order_by("created_at", "id")
        return ReviewSerializer(reviews, many=True).data


class PredictionPageSerializer(serializers.Serializer):
    results = PredictionSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True, help_text="Pass as `cursor` for the next page.")


class ExistingDecisionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField(help_text="The decision in `/api/v1/predictions/{id}`.")
    created_at = serializers.DateTimeField()


class DuplicateProblemSerializer(serializers.Serializer):
    """The 409 answer to an application the client decided recently (``scoring.api.problems``)."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    existing = ExistingDecisionSerializer()


class ScoreManyItemSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position in the request's `applications`.")
    prediction = PredictionSerializer(allow_null=True)
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), allow_null=True, help_text="Field -> messages."
    )
    duplicate_of = ExistingDecisionSerializer(
        allow_null=True,
        help_text="For an item not scored because you decided it recently (see `force`): that decision.",
    )


class ScoreManyResponseSerializer(serializers.Serializer):
    scored = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = ScoreManyItemSerializer(many=True)


class ModelVersionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField()
    source = serializers.CharField()
    source_uri = serializers.SerializerMethodField(
        help_text="The Hub repo id; for a bundle registered from a local folder, its path on the server, "
        "given to model administrators only (empty for other roles)."
    )
    hub_revision = serializers.CharField()
    hub_commit = serializers.CharField()
    sha256 = serializers.CharField()
    created_at = serializers.DateTimeField()
    activated_at = serializers.DateTimeField(allow_null=True)
    threshold = serializers.FloatField(allow_null=True)
    metrics = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_source_uri(self, obj) -> str:
        # A server path tells an officer or an auditor nothing they need and an attacker where to look;
        # the model administrators who registered the bundle need it to find it again. Without a request
        # in the context the viewer is unknown, so the path stays hidden.
        if obj.source == ModelVersion.Source.HUB:
            return obj.source_uri
        request = self.context.get("request")
        return obj.source_uri if request is not None and permissions.can_manage_models(request.user) else ""

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_metrics(self, obj) -> dict:
        return dict(obj.metadata.get("metrics") or {})


class ChoiceSerializer(serializers.Serializer):
    value = serializers.CharField(help_text="What `inputs` takes (and the model scores).")
    label = serializers.CharField(help_text="What a person reads.")


class FeatureSerializer(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=["categorical", "integer", "number"])
    label = serializers.CharField()
    help = serializers.CharField()
    section = serializers.CharField()
    choices = ChoiceSerializer(many=True)
    min = serializers.FloatField(allow_null=True)
    max = serializers.FloatField(allow_null=True)
    unit = serializers.CharField()
    protected = serializers.BooleanField()


class ActiveModelSerializer(serializers.Serializer):
    version = ModelVersionSerializer()
    features = FeatureSerializer(many=True)
    protected_attributes = FeatureSerializer(many=True)
    input_schema = serializers.JSONField(help_text="JSON Schema of `inputs` in a score request.")
    input_example = serializers.DictField(child=serializers.JSONField(), help_text="A valid `inputs` object.")
    threshold = serializers.FloatField()
    refer_band = serializers.DictField(child=serializers.FloatField())
    risk_bands = serializers.ListField(child=serializers.DictField())
