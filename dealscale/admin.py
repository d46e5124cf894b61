"""The outbox in the admin: every side effect with its status, attempts and last error, and "retry now"."""

from django.contrib import admin, messages

from dealscale import outbox
from dealscale.admin_mixins import ReadOnlyAdminMixin
from dealscale.models import OutboxEntry


@admin.register(OutboxEntry)
class OutboxEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "kind",
        "status",
        "attempts",
        "next_attempt_at",
        "short_error",
        "created_at",
        "delivered_at",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["key", "kind"]
    date_hierarchy = "created_at"
    ordering = ["-id"]
    actions = ["retry_now"]
    readonly_fields = [f.name for f in OutboxEntry._meta.fields]

    @admin.display(description="Last error")
    def short_error(self, entry: OutboxEntry) -> str:
        return entry.last_error[:120]

    @admin.action(description="Retry now (pending or failed entries)", permissions=["retry"])
    def retry_now(self, request, queryset) -> None:
        retried = outbox.retry_now(queryset.values_list("pk", flat=True))
        skipped = queryset.count() - retried
        self.message_user(
            request, f"{retried} entr{'y' if retried == 1 else 'ies'} queued for a new attempt."
        )
        if skipped:
            self.message_user(
                request,
                f"{skipped} delivered or in-progress entr{'y was' if skipped == 1 else 'ies were'} left alone.",
                level=messages.WARNING,
            )

    def has_retry_permission(self, request) -> bool:
        # The rows stay read-only; retrying is the one change staff may make.
        return request.user.has_perm("dealscale.change_outboxentry")
