from django.contrib import admin

from discordbot.models import BotHeartbeat


@admin.register(BotHeartbeat)
class BotHeartbeatAdmin(admin.ModelAdmin):
    list_display = ("instance", "last_seen_at", "started_at", "latency_ms", "guild_count", "commands_served")
    readonly_fields = list_display
