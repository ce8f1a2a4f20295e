"""API of the model lifecycle: ``POST /api/v1/models/reload`` queues a load from the Hugging Face Hub."""

import re

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import permissions as drf_permissions
from rest_framework import serializers
from rest_framework.response import Response

from accounts import permissions
from scoring.api.base import ApiView
from scoring.api.problems import ProblemResponse, problem
from scoring.lifecycle import loads
from scoring.models import ModelLoad

REPO_PATTERN = r"^[A-Za-z0-9_.-]{1,96}/[A-Za-z0-9_.-]{1,96}$"
_REPO = re.compile(REPO_PATTERN.removeprefix("^").removesuffix("$"))


@extend_schema_field({"type": "string", "pattern": REPO_PATTERN, "example": "acme/credit-model"})
class RepoField(serializers.CharField):
    """A Hub repo id, checked as sent (not trimmed) against the same pattern the schema states."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if _REPO.fullmatch(value) is None:
            raise serializers.ValidationError("Give the repo as owner/name, for example acme/credit-model.")
        return value


class IsModelAdmin(drf_permissions.BasePermission):
    message = "Only model administrators can load models."

    def has_permission(self, request, view):
        return permissions.can_manage_models(request.user)


class ModelReloadApi(ApiView):
    """Queue a load of repo@revision; the answer says where it stands (done at once when tasks run eagerly)."""

    permission_classes = [drf_permissions.IsAuthenticated, IsModelAdmin]

    class ModelReloadSerializer(serializers.Serializer):
        # The Hub's repo names: owner/name of letters, digits, "_", "." and "-".
        repo = RepoField(trim_whitespace=False)
        revision = serializers.CharField(max_length=200, required=False, default="main", trim_whitespace=False)
        subfolder = serializers.CharField(
            max_length=200, required=False, default="", allow_blank=True, trim_whitespace=False
        )

    class ModelLoadSerializer(serializers.ModelSerializer):
        version_status = serializers.CharField(source="version.status", default=None, allow_null=True)
        rejection_reason = serializers.CharField(source="version.rejection_reason", default=None, allow_null=True)

        class Meta:
            model = ModelLoad
            fields = ["id", "repo_id", "revision", "subfolder", "state", "commit", "version", "reused", "error"]
            fields += ["version_status", "rejection_reason"]

    @extend_schema(
        request=ModelReloadSerializer,
        responses={
            200: ModelLoadSerializer,
            202: ModelLoadSerializer,
            502: OpenApiResponse(
                description="The Hub failed us (unreachable, refused, no such repo): a problem whose `load` "
                "member is the failed load, with its `error`."
            ),
        },
        summary="Load a model bundle from the Hugging Face Hub (repo at a branch, tag or commit)",
    )
    def post(self, request):
        data = self.ModelReloadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            load = loads.request_load(
                repo_id=data.validated_data["repo"],
                revision=data.validated_data["revision"],
                subfolder=data.validated_data["subfolder"],
                user=request.user,
            )
        except ValidationError as exc:
            errors = {("repo" if k == "repo_id" else k): v for k, v in exc.message_dict.items()}
            raise serializers.ValidationError(errors) from exc  # the API's problem shape, like any bad field
        load.refresh_from_db()
        body = self.ModelLoadSerializer(load).data
        if load.state == ModelLoad.State.FAILED:
            # An error like any other (a problem document), carrying the load so the client sees what failed.
            detail = f"Loading {load.repo_id}@{load.revision} from the Hub failed: {load.error}"
            return ProblemResponse(problem(502, detail, kind="model-load-failed") | {"load": body})
        # Done: 200. Still queued for a worker: 202.
        return Response(body, status=200 if load.state == ModelLoad.State.DONE else 202)
