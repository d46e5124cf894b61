"""How credit requests read in the API (shared by the member and moderator views)."""

from rest_framework import serializers

from credits.models import CreditRequest


class CreditRequestSerializer(serializers.ModelSerializer):
    """A request as members see it."""

    class Meta:
        model = CreditRequest
        fields = ["id", "amount", "reason", "status", "source", "created_at", "decided_at", "decision_note"]
        read_only_fields = fields


class RequestUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class ModeratedCreditRequestSerializer(CreditRequestSerializer):
    """A request as moderators see it: the member's fields plus who filed it."""

    user = RequestUserSerializer()

    class Meta(CreditRequestSerializer.Meta):
        fields = [*CreditRequestSerializer.Meta.fields, "user"]
        read_only_fields = fields
