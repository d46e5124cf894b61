"""DRF views of the accounts app."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import discord_profile_for
from credits.selectors import balance_for


class DiscordIdentitySerializer(serializers.Serializer):
    id = serializers.CharField()
    username = serializers.CharField()
    global_name = serializers.CharField(allow_null=True)
    avatar_url = serializers.URLField()
    linked_at = serializers.DateTimeField()


class MeView(APIView):
    """The signed-in member: identity, linked Discord account, credit balance and leaderboard rank."""

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        email = serializers.EmailField(allow_blank=True)
        discord = DiscordIdentitySerializer(allow_null=True)
        balance = serializers.IntegerField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request):
        user = request.user
        me = {
            "id": user.pk,
            "username": user.username,
            "email": user.email,
            "discord": discord_profile_for(user),
            "balance": balance_for(user),
        }
        return Response(self.OutputSerializer(me).data)
