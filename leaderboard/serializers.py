"""Input validation of the leaderboard API (output documents are built in selectors)."""

from datetime import timedelta

from django.utils import timezone
from rest_framework import serializers

from dealscale.api import AsciiIntegerField, QueryChoiceField, TextField, ascii_integer
from leaderboard.periods import Period

MAX_EVENTS_PER_BATCH = 500


class ScoreEventInputSerializer(serializers.Serializer):
    external_id = TextField(min_length=1, max_length=200)
    user_id = AsciiIntegerField(required=False, min_value=1)
    # [0-9], not \d: \d matches any script's digits.
    discord_id = serializers.RegexField(r"^[0-9]{1,20}$", required=False, trim_whitespace=False)
    points = AsciiIntegerField(min_value=-1_000_000_000, max_value=1_000_000_000)
    kind = TextField(min_length=1, max_length=50)
    occurred_at = serializers.DateTimeField()

    def validate_occurred_at(self, value):
        # The platform's clock may run a little ahead; an event from the future is a bug upstream.
        if value > timezone.now() + timedelta(minutes=5):
            raise serializers.ValidationError("occurred_at is in the future.")
        return value

    def validate(self, attrs):
        if ("user_id" in attrs) == ("discord_id" in attrs):
            raise serializers.ValidationError({"user_id": ["Give exactly one of user_id or discord_id."]})
        return attrs


def validate_event_batch(data) -> list[dict]:
    """The validated events of a webhook body. Raises ValidationError keyed by event index and field."""
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        raise serializers.ValidationError({"events": ["Expected a list of events."]})
    events = data["events"]
    if not 1 <= len(events) <= MAX_EVENTS_PER_BATCH:
        raise serializers.ValidationError(
            {"events": [f"Send between 1 and {MAX_EVENTS_PER_BATCH} events; got {len(events)}."]}
        )
    validated, errors = [], {}
    for index, event in enumerate(events):
        serializer = ScoreEventInputSerializer(data=event)
        if serializer.is_valid():
            validated.append(dict(serializer.validated_data))
        else:
            errors[str(index)] = serializer.errors
    if errors:
        raise serializers.ValidationError({"events": errors})
    return validated


def parse_leaderboard_query(params) -> tuple[str, int, int]:
    """(period, limit, offset) of GET /api/leaderboard. Raises ValidationError naming the parameter.

    Hand-rolled rather than a Serializer: building one per request costs as much as serving the
    cached page, and this is the hottest path of the API.
    """
    errors = {}
    period = params.get("period", Period.ALL)
    if period not in Period.values:
        errors["period"] = [f'"{period}" is not a valid choice: use {", ".join(Period.values)}.']
    numbers = {}
    for name, default, low, high in (("limit", 10, 1, 100), ("offset", 0, 0, 10_000_000)):
        value = ascii_integer(params[name]) if name in params else default
        if value is None or not low <= value <= high:
            errors[name] = [f"Must be an integer from {low} to {high}."]
        else:
            numbers[name] = value
    if errors:
        raise serializers.ValidationError(errors)
    return period, numbers["limit"], numbers["offset"]


class LeaderboardQuerySerializer(serializers.Serializer):
    """The documented query of GET /api/leaderboard (parsed by parse_leaderboard_query)."""

    limit = AsciiIntegerField(min_value=1, max_value=100, default=10)
    offset = AsciiIntegerField(min_value=0, max_value=10_000_000, default=0)
    period = QueryChoiceField(choices=Period.values, default=Period.ALL)


class PeriodQuerySerializer(serializers.Serializer):
    period = QueryChoiceField(choices=Period.values, default=Period.ALL)


class HistoryQuerySerializer(serializers.Serializer):
    days = AsciiIntegerField(min_value=1, max_value=365, default=30)
    period = QueryChoiceField(choices=Period.values, default=Period.ALL)


class LeaderboardUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    discord_id = serializers.CharField(allow_null=True)
    avatar_url = serializers.URLField(allow_null=True)


class LeaderboardEntrySerializer(serializers.Serializer):
    """One ranked member (documents the output; the documents are built in selectors)."""

    rank = serializers.IntegerField(help_text="Competition rank: equal scores share it (1, 2, 2, 4).")
    previous_rank = serializers.IntegerField(
        allow_null=True, help_text="Rank in the generation before; null if new."
    )
    score = serializers.IntegerField()
    user = LeaderboardUserSerializer()


class LeaderboardPageSerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=Period.values)
    generated_at = serializers.DateTimeField(allow_null=True)
    count = serializers.IntegerField(help_text="Members ranked in this period.")
    results = LeaderboardEntrySerializer(many=True)


class MyEntrySerializer(LeaderboardEntrySerializer):
    period = serializers.ChoiceField(choices=Period.values)
    generated_at = serializers.DateTimeField()


class HistoryPointSerializer(serializers.Serializer):
    date = serializers.DateField()
    rank = serializers.IntegerField()
    score = serializers.IntegerField()


class HistorySerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    period = serializers.ChoiceField(choices=Period.values)
    days = serializers.IntegerField()
    results = HistoryPointSerializer(many=True)
