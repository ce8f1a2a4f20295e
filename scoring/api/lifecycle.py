"""API of the model lifecycle: ``POST /api/v1/models/reload`` queues a load from the Hugging Face Hub."""

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import permissions as drf_permissions
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import permissions
from scoring.lifecycle import loads
from scoring.models import ModelLoad


class IsModelAdmin(drf_permissions.BasePermission):
    message = "Only model administrators can load models."

    def has_permission(self, request, view):
        return permissions.can_manage_models(request.user)


class ModelReloadApi(APIView):
    """Queue a load of repo@revision; the answer says where it stands (done at once when tasks run eagerly)."""

    permission_classes = [drf_permissions.IsAuthenticated, IsModelAdmin]

    class ModelReloadSerializer(serializers.Serializer):
        repo = serializers.CharField(max_length=200)
        revision = serializers.CharField(max_length=200, required=False, default="main")
        subfolder = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)

    class ModelLoadSerializer(serializers.ModelSerializer):
        version_status = serializers.CharField(source="version.status", default=None)
        rejection_reason = serializers.CharField(source="version.rejection_reason", default=None)

        class Meta:
            model = ModelLoad
            fields = ["id", "repo_id", "revision", "subfolder", "state", "commit", "version", "reused", "error"]
            fields += ["version_status", "rejection_reason"]

    @extend_schema(
        request=ModelReloadSerializer,
        responses={200: ModelLoadSerializer, 202: ModelLoadSerializer, 502: ModelLoadSerializer},
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
        # Done: 200. Still queued for a worker: 202. The Hub failed us (unreachable, refused, no such repo): 502.
        code = {ModelLoad.State.DONE: 200, ModelLoad.State.FAILED: 502}.get(load.state, 202)
        return Response(self.ModelLoadSerializer(load).data, status=code)
