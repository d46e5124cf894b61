from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.errors import TokenNotFound
from accounts.models import APIToken, AuditEvent, DiscordToken, OAuthAttempt, User
from accounts.selectors import NO_PRIVILEGES, privileges_of
from accounts.services import record_privilege_change, revoke_api_token
from dealscale.admin_mixins import ReadOnlyAdminMixin


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    fieldsets = DjangoUserAdmin.fieldsets + (("DealScale", {"fields": ("display_name",)}),)
    list_display = ("username", "email", "display_name", "is_staff", "is_active", "date_joined")

    def save_model(self, request, obj, form, change):
        # Read from the database: `obj` already carries the submitted flags. Groups and permissions are
        # saved later, in save_related, so the comparison waits until then.
        form.privileges_before = privileges_of(User.objects.get(pk=obj.pk)) if change else NO_PRIVILEGES
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        record_privilege_change(
            actor=request.user,
            user=form.instance,
            before=form.privileges_before,
            source=AuditEvent.Source.ADMIN,
            ip_address=request.META.get("REMOTE_ADDR"),
        )


@admin.register(APIToken)
class APITokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    list_select_related = ("user",)
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "user__username", "user__email")
    readonly_fields = ("user", "name", "prefix", "key_hash", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke_tokens"]

    def has_add_permission(self, request):
        # A token is shown once at creation: `create_api_token` or the profile page make them.
        return False

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke_tokens(self, request, queryset):
        revoked = 0
        for token_id in queryset.filter(revoked_at__isnull=True).values_list("pk", flat=True):
            try:
                revoke_api_token(
                    token_id=token_id,
                    actor=request.user,
                    source=AuditEvent.Source.ADMIN,
                    ip_address=request.META.get("REMOTE_ADDR"),
                )
            except TokenNotFound:
                continue  # revoked meanwhile by its owner
            revoked += 1
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "actor_repr", "action", "target_repr", "source", "ip_address")
    list_filter = ("source", "action", "created_at")
    search_fields = ("actor_repr", "action", "target_repr", "target_id", "ip_address")
    date_hierarchy = "created_at"


@admin.register(OAuthAttempt)
class OAuthAttemptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "provider", "succeeded", "error")
    list_filter = ("provider", "succeeded")


@admin.register(DiscordToken)
class DiscordTokenAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Which links hold tokens and whether they need a relink; the tokens themselves are never shown."""

    list_display = (
        "social_account",
        "expires_at",
        "scope",
        "needs_relink",
        "refresh_uncertain_since",
        "updated_at",
    )
    list_select_related = ("social_account__user",)
    list_filter = ("needs_relink",)
    search_fields = ("social_account__uid", "social_account__user__username")
    fields = (
        "social_account",
        "expires_at",
        "scope",
        "needs_relink",
        "refresh_uncertain_since",
        "updated_at",
    )
