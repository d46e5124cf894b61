from django.contrib import admin, messages

from accounts.models import AuditEvent
from dealscale.admin_mixins import ReadOnlyAdminMixin
from linkedroles import services
from linkedroles.metadata import RECORDS
from linkedroles.models import MetadataRegistration, RoleConnection


@admin.register(RoleConnection)
class RoleConnectionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What Discord last got for each member (written by pushes only); "Push now" queues a push."""

    list_display = ("user", "pushed_at", "pushed_values", "push_count", "last_error", "last_error_at")
    list_filter = (("pushed_at", admin.EmptyFieldListFilter),)
    search_fields = ("user__username", "user__display_name", "=user__id")
    readonly_fields = (
        "user",
        "pushed_username",
        "pushed_values",
        "pushed_at",
        "push_count",
        "last_error",
        "last_error_at",
        "prompt_dismissed_at",
    )
    fields = readonly_fields
    list_select_related = ("user",)
    actions = ["push_now"]

    @admin.display(description="Pushed values")
    def pushed_values(self, connection: RoleConnection) -> str:
        values = connection.pushed_metadata
        if values is None:
            return "—"
        return ", ".join(f"{record.name}: {values[record.key]}" for record in RECORDS if record.key in values)

    @admin.action(description="Push the selected members' role connections now", permissions=["push"])
    def push_now(self, request, queryset):
        queued = services.queue_pushes_by_staff(
            user_ids=list(queryset.values_list("user_id", flat=True)),
            actor=request.user,
            source=AuditEvent.Source.ADMIN,
        )
        self.message_user(
            request, f"Queued {queued} pushes; unchanged members get no call.", messages.SUCCESS
        )

    def has_push_permission(self, request) -> bool:
        return request.user.has_perm("linkedroles.change_roleconnection")


@admin.register(MetadataRegistration)
class MetadataRegistrationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("application_id", "record_count", "registered_at", "payload_hash")
