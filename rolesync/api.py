"""The staff door to role sync: `POST /admin/discord/sync-roles` queues a run and answers 202."""

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import BearerTokenAuthentication
from accounts.models import AuditEvent
from dealscale.api import StrictIntegerField
from dealscale.openapi import error
from rolesync import selectors, services
from rolesync.models import RoleSyncRun


class CanRunRoleSync(permissions.BasePermission):
    # The contract is "a staff Bearer token": a run is idempotent and the safety brake holds big ones.
    message = "Only staff can start a role sync."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.is_staff)


class SyncRolesApi(APIView):
    # Bearer tokens only: a session cookie must not let a cross-site form start a sync.
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [permissions.IsAuthenticated, CanRunRoleSync]

    @extend_schema_serializer(component_name="RoleSyncRequest")
    class InputSerializer(serializers.Serializer):
        user_ids = serializers.ListField(
            child=StrictIntegerField(min_value=1, max_value=selectors.USER_ID_MAX),
            required=False,
            allow_empty=False,
            min_length=1,
            max_length=1000,
            help_text="Sync only these users (default: every member of the guild).",
        )

        def validate_user_ids(self, user_ids: list[int]) -> list[int]:
            if unknown := selectors.unknown_user_ids(user_ids):
                raise serializers.ValidationError(f"No user with id {', '.join(map(str, unknown))}.")
            return user_ids

    @extend_schema_serializer(component_name="RoleSyncQueued")
    class OutputSerializer(serializers.Serializer):
        run_id = serializers.IntegerField()
        status = serializers.CharField()

    @extend_schema(
        request=InputSerializer,
        responses={
            202: OutputSerializer,
            403: error("Only staff can start a role sync (`permission_denied`)."),
        },
        summary="Start a Discord role sync",
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = services.queue_run(
            trigger=RoleSyncRun.Trigger.API,
            actor=request.user,
            user_ids=serializer.validated_data.get("user_ids", []),
            source=AuditEvent.Source.API,
        )
        return Response(
            self.OutputSerializer({"run_id": run.pk, "status": run.status}).data,
            status=status.HTTP_202_ACCEPTED,
        )
