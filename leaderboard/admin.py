from django import forms
from django.contrib import admin, messages

from accounts.models import AuditEvent
from dealscale.admin_mixins import ReadOnlyAdminMixin
from leaderboard import services
from leaderboard.models import ScoreEvent, ServiceKey, SnapshotGeneration


class ServiceKeyAddForm(forms.ModelForm):
    class Meta:
        model = ServiceKey
        fields = ["name"]
        help_texts = {
            "name": "Also the source of the events this key sends. The key and secret are shown once."
        }


@admin.register(ServiceKey)
class ServiceKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix")
    actions = ["revoke_keys"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ServiceKeyAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ["name"] if obj is None else ["name", "prefix", "created_at", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def has_delete_permission(self, request, obj=None):
        # Revoke instead: the key's name stays the source of the events it sent.
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return
        created, key, secret = services.create_service_key(
            name=obj.name, actor=request.user, source=AuditEvent.Source.ADMIN
        )
        obj.pk, obj.prefix, obj.created_at = created.pk, created.prefix, created.created_at
        self.message_user(
            request,
            f"Copy these now, they are shown only once — key={key} secret={secret}",
            messages.WARNING,
        )

    @admin.action(description="Revoke selected service keys", permissions=["change"])
    def revoke_keys(self, request, queryset):
        revoked = 0
        for service_key in queryset.filter(revoked_at__isnull=True):
            services.revoke_service_key(
                service_key_id=service_key.pk, actor=request.user, source=AuditEvent.Source.ADMIN
            )
            revoked += 1
        self.message_user(request, f"Revoked {revoked} service key(s).", messages.SUCCESS)


class ManualAdjustmentForm(forms.ModelForm):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), help_text="Required; kept in the audit log."
    )

    class Meta:
        model = ScoreEvent
        fields = ["user", "points", "reason"]

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Give the reason for this adjustment.")
        return reason


@admin.register(ScoreEvent)
class ScoreEventAdmin(admin.ModelAdmin):
    """The ledger, read-only; "Add" records a manual adjustment through the service."""

    list_display = ("occurred_at", "user", "points", "kind", "source", "external_id", "created_by")
    list_filter = ("source", "kind")
    search_fields = ("user__username", "external_id", "reason")
    date_hierarchy = "occurred_at"
    list_select_related = ("user", "created_by")
    raw_id_fields = ("user",)

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ManualAdjustmentForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "points", "reason"]
        return [
            "user",
            "points",
            "kind",
            "source",
            "external_id",
            "reason",
            "created_by",
            "occurred_at",
            "created_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        event = services.add_manual_adjustment(
            user=form.cleaned_data["user"],
            points=form.cleaned_data["points"],
            reason=form.cleaned_data["reason"],
            actor=request.user,
            ip_address=request.META.get("REMOTE_ADDR"),
        )
        obj.pk = event.pk


@admin.register(SnapshotGeneration)
class SnapshotGenerationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "period", "period_start", "generated_at", "row_count", "duration_ms", "archived")
    list_filter = ("period",)
