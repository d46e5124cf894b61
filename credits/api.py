"""The credits API: members file and follow their requests; moderators decide them.

Each view parses input, calls one service or selector and serializes the answer; the services' domain
errors (credits.errors) carry their own status (400 bad input or a limit, 403, 404, 409 already decided)
and the project's one exception handler (dealscale.api) answers them.
"""

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_serializer
from ipware import get_client_ip
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import AuditEvent
from credits import selectors, services
from credits.errors import NotAModerator
from credits.models import CreditRequest
from credits.serializers import CreditRequestSerializer, ModeratedCreditRequestSerializer
from dealscale.api import LimitOffsetPagination, QueryChoiceField, StrictIntegerField, TextField
from dealscale.openapi import bad_input, error

TAGS = ["credits"]
ADMIN_TAGS = ["credits (moderators)"]


class CreditsApiView(APIView):
    pagination_class = LimitOffsetPagination

    def paginated(self, queryset, serializer_class) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, self.request, view=self)
        return paginator.get_paginated_response(serializer_class(page, many=True).data)


class CanModerateCredits(BasePermission):
    message = NotAModerator.default_message

    def has_permission(self, request, view) -> bool:
        return selectors.can_moderate(request.user)


NOT_A_MODERATOR = error(
    "Only staff with the 'Can moderate credit requests' permission (`permission_denied`)."
)
NO_SUCH_REQUEST = error("No credit request with this id (`not_found`); a member sees only their own.")
ALREADY_DECIDED = error(
    "The request is no longer pending (`already_decided`, `invalid_transition`): nothing was changed."
)
REFUSED_REQUEST = bad_input(
    "Invalid fields (`{amount: [...]}`, `{reason: [...]}`); a refused limit, `{detail, code: "
    "limit_exceeded, rule}` where `rule` is the setting that sets it; or a body that is not JSON "
    "(`parse_error`).",
    properties={"rule": {"type": "string", "enum": ["CREDITS_MAX_PENDING", "CREDITS_DAILY_CAP"]}},
)


class CreditBalanceApi(CreditsApiView):
    @extend_schema_serializer(component_name="CreditBalance")
    class OutputSerializer(serializers.Serializer):
        balance = serializers.IntegerField()
        pending = CreditRequestSerializer(many=True)

    @extend_schema(tags=TAGS, summary="Your balance and pending requests", responses=OutputSerializer)
    def get(self, request):
        data = {
            "balance": selectors.balance_for(request.user),
            "pending": selectors.pending_requests_for(request.user),
        }
        return Response(self.OutputSerializer(data).data)


class CreditRequestListCreateApi(CreditsApiView):
    @extend_schema_serializer(component_name="CreditRequestInput")
    class InputSerializer(serializers.Serializer):
        # The service owns the bounds and their messages (naming CREDITS_MAX_REQUEST); here only the
        # JSON types, and the bounds as the schema states them (the amount's as the settings set it).
        amount = StrictIntegerField()
        reason = TextField(
            min_length=services.REASON_MIN_LENGTH,
            max_length=services.REASON_MAX_LENGTH,
            check_min_length=False,
        )

        def get_fields(self):
            fields = super().get_fields()
            extend_schema_field({"type": "integer", "minimum": 1, "maximum": settings.CREDITS_MAX_REQUEST})(
                fields["amount"]
            )
            return fields

    @extend_schema(
        tags=TAGS, summary="Your credit requests, newest first", responses=CreditRequestSerializer(many=True)
    )
    def get(self, request):
        return self.paginated(selectors.requests_for(request.user), CreditRequestSerializer)

    @extend_schema(
        tags=TAGS,
        summary="Ask for credits",
        request=InputSerializer,
        responses={201: CreditRequestSerializer, 400: REFUSED_REQUEST},
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        credit_request = services.request_credits(
            user=request.user, origin=CreditRequest.Source.API, **serializer.validated_data
        )
        return Response(CreditRequestSerializer(credit_request).data, status=status.HTTP_201_CREATED)


class CreditRequestCancelApi(CreditsApiView):
    @extend_schema(
        tags=TAGS,
        summary="Cancel one of your pending requests",
        request=None,
        responses={200: CreditRequestSerializer, 404: NO_SUCH_REQUEST, 409: ALREADY_DECIDED},
    )
    def post(self, request, request_id: int):
        # Someone else's request is "not found" to a member, never "forbidden": ids are not disclosed.
        get_object_or_404(selectors.requests_for(request.user), pk=request_id)
        credit_request = services.cancel_request(
            request_id, actor=request.user, source=AuditEvent.Source.API, ip_address=get_client_ip(request)[0]
        )
        return Response(CreditRequestSerializer(credit_request).data)


class ModerationListApi(CreditsApiView):
    permission_classes = [IsAuthenticated, CanModerateCredits]

    @extend_schema_serializer(component_name="CreditRequestFilter")
    class FilterSerializer(serializers.Serializer):
        # `?status=` (empty) is refused with a 400, as any other value outside the choices.
        status = QueryChoiceField(choices=CreditRequest.Status.choices, required=False)

    @extend_schema(
        tags=ADMIN_TAGS,
        summary="All credit requests, newest first (moderators)",
        parameters=[FilterSerializer],
        responses={200: ModeratedCreditRequestSerializer(many=True), 403: NOT_A_MODERATOR},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        requests = selectors.credit_requests(status=filters.validated_data.get("status"))
        return self.paginated(requests, ModeratedCreditRequestSerializer)


@extend_schema_serializer(component_name="DecisionInput")
class DecisionInputSerializer(serializers.Serializer):
    # The service trims the note and owns its length rule; the schema states it.
    note = TextField(max_length=services.NOTE_MAX_LENGTH, required=False, default="")


@extend_schema_serializer(component_name="DenialInput")
class DenialInputSerializer(DecisionInputSerializer):
    """A denial's note is its reason, told to the member: the service refuses a missing or blank one."""

    note = TextField(
        min_length=1, max_length=services.NOTE_MAX_LENGTH, check_min_length=False, required=False, default=""
    )


class DenialInputSchema(OpenApiSerializerExtension):
    """Documents the note as required: the service's refusal of a missing one is the 400 (its message)."""

    target_class = DenialInputSerializer

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["required"] = ["note"]
        schema["properties"]["note"].pop("default", None)
        return schema


class DecisionApi(CreditsApiView):
    """A moderator's decision on one request: approve and deny take the same body and answer alike."""

    permission_classes = [IsAuthenticated, CanModerateCredits]

    input_serializer = DecisionInputSerializer

    def decide(self, request, request_id: int, service) -> Response:
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        credit_request = service(
            request_id,
            actor=request.user,
            note=serializer.validated_data["note"],
            source=AuditEvent.Source.API,
            ip_address=get_client_ip(request)[0],
        )
        return Response(ModeratedCreditRequestSerializer(credit_request).data)


class ApproveRequestApi(DecisionApi):
    @extend_schema(
        tags=ADMIN_TAGS,
        summary="Approve a pending request and grant its credits (moderators)",
        request=DecisionInputSerializer,
        responses={
            200: ModeratedCreditRequestSerializer,
            403: NOT_A_MODERATOR,
            404: NO_SUCH_REQUEST,
            409: ALREADY_DECIDED,
        },
    )
    def post(self, request, request_id: int):
        return self.decide(request, request_id, services.approve_request)


class DenyRequestApi(DecisionApi):
    input_serializer = DenialInputSerializer

    @extend_schema(
        tags=ADMIN_TAGS,
        summary="Deny a pending request; the note (reason) is required (moderators)",
        request=DenialInputSerializer,
        responses={
            200: ModeratedCreditRequestSerializer,
            403: NOT_A_MODERATOR,
            404: NO_SUCH_REQUEST,
            409: ALREADY_DECIDED,
        },
    )
    def post(self, request, request_id: int):
        return self.decide(request, request_id, services.deny_request)
