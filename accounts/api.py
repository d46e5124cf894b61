"""DRF views of the accounts app."""

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from ipware import get_client_ip
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.models import APIToken, AuditEvent
from accounts.selectors import api_tokens_for
from accounts.services import create_api_token, revoke_api_token
from dealscale.api import TextField
from dealscale.openapi import error

# --- Personal API tokens: listed, created and revoked by their owner -------------------------------


class APITokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = APIToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at"]
        read_only_fields = fields


class APITokenListCreateApi(APIView):
    """Your active API tokens; a new one is shown once, in the creation response."""

    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    @extend_schema_serializer(component_name="APITokenInput")
    class InputSerializer(serializers.Serializer):
        name = TextField(min_length=1, max_length=100, required=False, default="default")

    @extend_schema_serializer(component_name="APITokenCreated")
    class CreatedSerializer(APITokenSerializer):
        token = serializers.CharField(help_text="The token itself: shown this once, never stored.")

        class Meta(APITokenSerializer.Meta):
            fields = [*APITokenSerializer.Meta.fields, "token"]
            read_only_fields = fields

    @extend_schema(tags=["tokens"], responses=APITokenSerializer(many=True))
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(api_tokens_for(request.user), request, view=self)
        return paginator.get_paginated_response(APITokenSerializer(page, many=True).data)

    @extend_schema(
        tags=["tokens"],
        request=InputSerializer,
        responses={
            201: CreatedSerializer,
            403: error(
                "Tokens are created from a signed-in session, never with a token; or the session's "
                "request lacks its CSRF token (`permission_denied`)."
            ),
        },
    )
    def post(self, request):
        if isinstance(request.auth, APIToken):
            # A leaked token must not be able to mint tokens that outlive its revocation.
            raise exceptions.PermissionDenied("Create tokens from a signed-in session, not with a token.")
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, key = create_api_token(
            user=request.user,
            name=serializer.validated_data["name"],
            actor=request.user,
            source=AuditEvent.Source.API,
            ip_address=get_client_ip(request)[0],
        )
        token.token = key
        return Response(self.CreatedSerializer(token).data, status=status.HTTP_201_CREATED)


class APITokenRevokeApi(APIView):
    @extend_schema(
        tags=["tokens"],
        responses={
            204: None,
            404: error("No active token with this id among yours (staff: anyone's) (`not_found`)."),
        },
    )
    def delete(self, request, token_id: int):
        revoke_api_token(
            token_id=token_id,
            actor=request.user,
            source=AuditEvent.Source.API,
            ip_address=get_client_ip(request)[0],
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
