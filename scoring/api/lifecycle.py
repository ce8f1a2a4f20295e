"""API of the model lifecycle: ``POST /api/v1/models/reload`` queues a load from the Hugging Face Hub."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import permissions as drf_permissions
from rest_framework import serializers
from rest_framework.response import Response

from accounts import permissions
from scoring.api.base import ApiView
from scoring.api.problems import ProblemResponse, problem
from scoring.api.serializers import StrictSerializer
from scoring.lifecycle import hub, loads
from scoring.models import ModelLoad

# The Hub's rule for a repo id (huggingface_hub's validate_repo_id), with the owner required:
# letters, digits, "_", "." and "-", each part 1-96 long, starting and ending with a letter, digit
# or "_", no "--" or "..", not ending in ".git". ECMA-262 and Python read this pattern alike.
_PART = r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?"
REPO_PATTERN = rf"^(?!.*(?:--|\.\.))(?!.*\.git$){_PART}/{_PART}$"
_REPO = re.compile(REPO_PATTERN)
# A branch, tag or commit as sent: no spaces or control characters to trim or guess around.
REVISION_PATTERN = r"^[^\s\x00-\x1f\x7f]{1,200}$"
_REVISION = re.compile(REVISION_PATTERN)


@extend_schema_field({"type": "string", "pattern": REPO_PATTERN, "example": "acme/credit-model"})
class RepoField(serializers.CharField):
    """A Hub repo id, checked as sent (not trimmed) against the same pattern the schema states."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if _REPO.fullmatch(value) is None:
            raise serializers.ValidationError(
                gettext(
                    "Give the repo as owner/name, for example acme/credit-model: letters, digits, '_', '.' and '-', "
                    "each part starting and ending with a letter or digit, without '--', '..' or a final '.git'."
                )
            )
        return value


@extend_schema_field({"type": "string", "pattern": REVISION_PATTERN, "default": "main"})
class RevisionField(serializers.CharField):
    """A branch, tag or commit, checked whole as sent (a final line break is not quietly allowed)."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if _REVISION.fullmatch(value) is None:
            raise serializers.ValidationError(
                gettext("Give a branch, tag or commit, without spaces or control characters.")
            )
        return value


@extend_schema_field({"type": "string", "pattern": hub.SUBFOLDER_PATTERN, "default": "", "maxLength": 200})
class SubfolderField(serializers.CharField):
    """A folder inside the repo: a relative path that cannot lead out of it (the rule in ``hub.clean_subfolder``)."""

    def run_validation(self, data=serializers.empty):
        # "" (the top of the repo) is in the pattern; allow_blank would add a second, overlapping schema branch.
        return "" if data == "" else super().run_validation(data)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            hub.clean_subfolder(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return value


class IsModelAdmin(drf_permissions.BasePermission):
    message = _("Only model administrators can load models.")

    def has_permission(self, request, view):
        return permissions.can_manage_models(request.user)


class ModelReloadApi(ApiView):
    """Queue a load of repo@revision; the answer says where it stands (done at once when tasks run eagerly)."""

    permission_classes = [drf_permissions.IsAuthenticated, IsModelAdmin]

    class ModelReloadRequestSerializer(StrictSerializer):
        """Which repo, revision and folder to load; a field not listed here is refused."""

        repo = RepoField(trim_whitespace=False)
        revision = RevisionField(max_length=200, required=False, default="main", trim_whitespace=False)
        subfolder = SubfolderField(max_length=200, required=False, default="", trim_whitespace=False)

    class ModelLoadSerializer(serializers.ModelSerializer):
        version_status = serializers.CharField(source="version.status", default=None, allow_null=True)
        rejection_reason = serializers.CharField(source="version.rejection_reason", default=None, allow_null=True)

        class Meta:
            model = ModelLoad
            fields = ["id", "repo_id", "revision", "subfolder", "state", "commit", "version", "reused", "error"]
            fields += ["version_status", "rejection_reason"]

    @extend_schema(
        request=ModelReloadRequestSerializer,
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
        data = self.ModelReloadRequestSerializer(data=request.data)
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
