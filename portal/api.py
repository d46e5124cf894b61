"""The member's own API: `/api/me`, one answer composed from accounts, credits and the leaderboard."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import discord_profile_for
from credits.selectors import balance_for
from leaderboard.selectors import entry_for


class DiscordIdentitySerializer(serializers.Serializer):
    id = serializers.CharField()
    username = serializers.CharField()
    global_name = serializers.CharField(allow_null=True)
    avatar_url = serializers.URLField()
    linked_at = serializers.DateTimeField()


class RankSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    previous_rank = serializers.IntegerField(allow_null=True)
    score = serializers.IntegerField()


class MeView(APIView):
    """The signed-in member: identity, linked Discord account, credit balance and leaderboard rank."""

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        email = serializers.EmailField(allow_blank=True)
        discord = DiscordIdentitySerializer(allow_null=True)
        balance = serializers.IntegerField()
        rank = RankSerializer(allow_null=True, help_text="All-time leaderboard rank; null when unranked.")

    @extend_schema(responses=OutputSerializer)
    def get(self, request):
        user = request.user
        me = {
            "id": user.pk,
            "username": user.username,
            "email": user.email,
            "discord": discord_profile_for(user),
            "balance": balance_for(user),
            "rank": entry_for(user, period="all"),
        }
        return Response(self.OutputSerializer(me).data)
