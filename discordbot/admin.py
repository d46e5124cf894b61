from django.contrib import admin

from discordbot.models import BotHeartbeat, CommandInvocation, CommandRegistration, ModerationMessage


@admin.register(BotHeartbeat)
class BotHeartbeatAdmin(admin.ModelAdmin):
    list_display = ("instance", "last_seen_at", "started_at", "latency_ms", "guild_count", "commands_served")
    readonly_fields = list_display


@admin.register(CommandRegistration)
class CommandRegistrationAdmin(admin.ModelAdmin):
    list_display = ("scope", "command_count", "registered_at", "payload_hash")
    readonly_fields = list_display


@admin.register(ModerationMessage)
class ModerationMessageAdmin(admin.ModelAdmin):
    list_display = ("credit_request_id", "channel_id", "message_id", "posted_at")
    search_fields = ("=credit_request_id", "=message_id")
    readonly_fields = list_display


@admin.register(CommandInvocation)
class CommandInvocationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "command", "outcome", "duration_ms", "discord_user_id", "user")
    list_filter = ("outcome", "command")
    search_fields = ("=discord_user_id",)
    readonly_fields = ("created_at", "command", "outcome", "duration_ms", "discord_user_id", "user")
    list_select_related = ("user",)

    def has_add_permission(self, request) -> bool:
        return False
