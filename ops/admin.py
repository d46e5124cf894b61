from django.contrib import admin
from waffle.models import Flag

from dealscale.admin_mixins import ReadOnlyAdminMixin
from ops.flag_admin import AuditedFlagAdmin
from ops.models import AlertDelivery, AlertIncident, AlertNotification, PreflightRun

admin.site.site_header = "DealScale Discord administration"
admin.site.site_title = "DealScale Discord"
admin.site.index_title = "Moderation and operations"
admin.site.index_template = "admin/dealscale_index.html"


class AlertNotificationInline(admin.TabularInline):
    model = AlertNotification
    fields = ["created_at", "kind", "message", "delivery_summary"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    @admin.display(description="Deliveries")
    def delivery_summary(self, notification: AlertNotification) -> str:
        return (
            ", ".join(f"{d.channel}: {d.status}" for d in notification.deliveries.all()) or "no webhook set"
        )

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AlertIncident)
class AlertIncidentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["rule", "severity", "started_at", "resolved_at", "peak_value", "summary"]
    list_filter = ["rule", "severity", ("resolved_at", admin.EmptyFieldListFilter)]
    date_hierarchy = "started_at"
    inlines = [AlertNotificationInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("notifications__deliveries")


class AlertDeliveryInline(admin.TabularInline):
    model = AlertDelivery
    fields = ["channel", "status", "attempts", "last_error", "delivered_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AlertNotification)
class AlertNotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "incident", "kind", "message"]
    list_filter = ["kind", "incident__rule"]
    list_select_related = ["incident"]
    inlines = [AlertDeliveryInline]


@admin.register(PreflightRun)
class PreflightRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["ran_at", "status", "passed", "warnings", "failures", "fixed_commands", "operator"]
    list_filter = ["status", "fixed_commands"]
    date_hierarchy = "ran_at"


# Replaces waffle's own registration (waffle is installed before this app, so its admin is loaded first).
if admin.site.is_registered(Flag):
    admin.site.unregister(Flag)
admin.site.register(Flag, AuditedFlagAdmin)
