"""The credits API: members file and follow their requests; moderators decide them.

Each view parses input, calls one service or selector and serializes the answer; the services' domain
errors (credits.errors) carry their own status (400 bad input or a limit, 403, 404, 409 already decided)
and the project's one exception handler (dealscale.api) answers them.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer, inline_serializer
from ipware import get_client_ip
from rest_framework import serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import AuditEvent
from credits import selectors, services
from credits.errors import NotAModerator
from credits.models import CreditRequest
from credits.serializers import CreditRequestSerializer, ModeratedCreditRequestSerializer

TAGS = ["credits"]
ADMIN_TAGS = ["credits (moderators)"]


class CreditsPagination(LimitOffsetPagination):
    # One page never loads a whole table, whatever `?limit=` asks for.
    max_limit = 100


class CreditsApiView(APIView):
    pagination_class = CreditsPagination

    def paginated(self, queryset, serializer_class) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, self.request, view=self)
        return paginator.get_paginated_response(serializer_class(page, many=True).data)


class CanModerateCredits(BasePermission):
    message = NotAModerator.default_message

    def has_permission(self, request, view) -> bool:
        return selectors.can_moderate(request.user)


ERROR = inline_serializer(
    "Error", fields={"detail": serializers.CharField(), "code": serializers.CharField()}
)
LIMIT_ERROR = OpenApiResponse(
    inline_serializer(
        "LimitOrFieldErrors",
        fields={
            "detail": serializers.CharField(),
            "code": serializers.CharField(),
            "rule": serializers.CharField(),
        },
    ),
    description="Per-field errors ({field: [messages]}) or a refused limit ({detail, code, rule}).",
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
        amount = serializers.IntegerField()
        # The service owns the length rule (and its message); here only "present and a string".
        reason = serializers.CharField(allow_blank=True, trim_whitespace=True)

    @extend_schema(
        tags=TAGS, summary="Your credit requests, newest first", responses=CreditRequestSerializer(many=True)
    )
    def get(self, request):
        return self.paginated(selectors.requests_for(request.user), CreditRequestSerializer)

    @extend_schema(
        tags=TAGS,
        summary="Ask for credits",
        request=InputSerializer,
        responses={201: CreditRequestSerializer, 400: LIMIT_ERROR},
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
        responses={200: CreditRequestSerializer, 404: ERROR, 409: ERROR},
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
        status = serializers.ChoiceField(choices=CreditRequest.Status.choices, required=False)

    @extend_schema(
        tags=ADMIN_TAGS,
        summary="All credit requests, newest first (moderators)",
        parameters=[FilterSerializer],
        responses={200: ModeratedCreditRequestSerializer(many=True), 403: ERROR},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        requests = selectors.credit_requests(status=filters.validated_data.get("status"))
        return self.paginated(requests, ModeratedCreditRequestSerializer)


@extend_schema_serializer(component_name="DecisionInput")
class DecisionInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class DecisionApi(CreditsApiView):
    """A moderator's decision on one request: approve and deny take the same body and answer alike."""

    permission_classes = [IsAuthenticated, CanModerateCredits]

    def decide(self, request, request_id: int, service) -> Response:
        serializer = DecisionInputSerializer(data=request.data)
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
        responses={200: ModeratedCreditRequestSerializer, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    def post(self, request, request_id: int):
        return self.decide(request, request_id, services.approve_request)


class DenyRequestApi(DecisionApi):
    @extend_schema(
        tags=ADMIN_TAGS,
        summary="Deny a pending request; the note (reason) is required (moderators)",
        request=DecisionInputSerializer,
        responses={200: ModeratedCreditRequestSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    def post(self, request, request_id: int):
        return self.decide(request, request_id, services.deny_request)
