"""The leaderboard API: the score-events webhook and the read endpoints (parse → service/selector → JSON)."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from dealscale.openapi import bad_input, error
from dealscale.parsers import JSONParser
from dealscale.throttling import ScoreEventKeyThrottle
from leaderboard import page_cache, selectors, services
from leaderboard.authentication import HasServiceKey, ServiceKeySignatureAuthentication
from leaderboard.serializers import (
    HistoryQuerySerializer,
    HistorySerializer,
    LeaderboardPageSerializer,
    LeaderboardQuerySerializer,
    MyEntrySerializer,
    PeriodQuerySerializer,
    ScoreEventInputSerializer,
    parse_leaderboard_query,
    validate_event_batch,
)
from leaderboard.throttling import LeaderboardReadThrottle

ORDER_NOTE = (
    "Ranks are competition ranks: equal scores share a rank (1, 2, 2, 4). Entries are listed by score "
    "descending, then by who reached the score first (earliest latest-event time), then by user id. "
    "Recalculated every 30 seconds; `previous_rank` is the rank in the generation before."
)


READ_THROTTLES = [LeaderboardReadThrottle]
# JSON only: content negotiation over the default renderers is measurable on the hot read path.
READ_RENDERERS = [JSONRenderer]


def _query(serializer_class, request):
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ScoreEventsApi(APIView):
    """The DealScale platform's webhook: `Authorization: Bearer <service key>` and
    `X-DealScale-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`."""

    authentication_classes = [ServiceKeySignatureAuthentication]
    permission_classes = [HasServiceKey]
    throttle_classes = [ScoreEventKeyThrottle]
    parser_classes = [JSONParser]

    @extend_schema(
        request=inline_serializer("ScoreEventBatch", {"events": ScoreEventInputSerializer(many=True)}),
        responses={
            200: inline_serializer(
                "ScoreEventResult",
                {"accepted": serializers.IntegerField(), "duplicates": serializers.IntegerField()},
            ),
            400: bad_input(
                'Invalid events, by index and field: `{events: {"3": {user_id: [...]}}}`; or a body '
                "that is not JSON (`parse_error`)."
            ),
            401: error(
                "A missing, unknown or revoked service key, or a missing, stale or non-matching "
                "signature (`authentication_failed`, `not_authenticated`): nothing was stored."
            ),
        },
    )
    def post(self, request):
        events = validate_event_batch(request.data)
        result = services.record_score_events(origin=request.auth.name, events=events)
        return Response(
            {"accepted": result.accepted, "duplicates": result.duplicates}, status=status.HTTP_200_OK
        )


class LeaderboardApi(APIView):
    throttle_classes = READ_THROTTLES
    renderer_classes = READ_RENDERERS

    @extend_schema(
        description=ORDER_NOTE, parameters=[LeaderboardQuerySerializer], responses=LeaderboardPageSerializer
    )
    def get(self, request):
        period, limit, offset = parse_leaderboard_query(request.query_params)
        body = page_cache.read_page(period=period, limit=limit, offset=offset)
        # Served as cached bytes: rendering the same document again per request is the costly part.
        return HttpResponse(body, content_type="application/json")


class MyLeaderboardEntryApi(APIView):
    throttle_classes = READ_THROTTLES
    renderer_classes = READ_RENDERERS

    @extend_schema(
        description=ORDER_NOTE,
        parameters=[PeriodQuerySerializer],
        responses={
            200: MyEntrySerializer,
            404: error("You are not ranked in this period yet (`not_found`)."),
        },
    )
    def get(self, request):
        period = _query(PeriodQuerySerializer, request)["period"]
        entry = selectors.entry_for(request.user, period=period)
        if entry is None:
            raise exceptions.NotFound(
                f"You are not ranked in the '{period}' leaderboard yet: earn points and you will appear "
                "after the next recalculation (every 30 seconds)."
            )
        return Response(
            {
                "period": period,
                "generated_at": selectors.iso(entry.generated_at),
                **selectors.entry_document(entry),
            }
        )


class UserRankHistoryApi(APIView):
    throttle_classes = READ_THROTTLES
    renderer_classes = READ_RENDERERS

    @extend_schema(
        description="One point per UTC day (a quiet day carries the one before forward); today is live.",
        parameters=[HistoryQuerySerializer, OpenApiParameter("user_id", int, OpenApiParameter.PATH)],
        responses={200: HistorySerializer, 404: error("No active member with this id (`not_found`).")},
    )
    def get(self, request, user_id: int):
        query = _query(HistoryQuerySerializer, request)
        user = get_object_or_404(User, pk=user_id, is_active=True)
        points = selectors.history_for(user, days=query["days"], period=query["period"])
        return Response(
            {
                "user_id": user.pk,
                "period": query["period"],
                "days": query["days"],
                "results": [{"date": p.day.isoformat(), "rank": p.rank, "score": p.score} for p in points],
            }
        )
