from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.utils.html import format_html, format_html_join

from accounts.models import AuditEvent
from dealscale.errors import DomainError
from rolesync import services
from rolesync.models import Milestone, MilestoneTrack, RoleSyncRun, SyncExclusion

PLAN_LINES_SHOWN = 500


class MilestoneInline(admin.TabularInline):
    model = Milestone
    extra = 1
    fields = ("position", "name", "discord_role_id", "period", "max_rank", "min_score")


@admin.register(MilestoneTrack)
class MilestoneTrackAdmin(admin.ModelAdmin):
    list_display = ("name", "exclusive", "position", "milestone_list")
    list_editable = ("position",)
    inlines = [MilestoneInline]

    @admin.display(description="Milestones")
    def milestone_list(self, track: MilestoneTrack) -> str:
        return ", ".join(str(m) for m in track.milestones.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("milestones")

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.milestones_changed(actor=request.user, source=AuditEvent.Source.ADMIN, target=form.instance)
        # A fresh query: the prefetched milestones of get_queryset() predate this save.
        role_ids = form.instance.milestones.values_list("discord_role_id", flat=True)
        for warning in services.guild_warnings(role_ids=role_ids):
            self.message_user(request, warning, level=messages.WARNING)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        services.milestones_changed(actor=request.user, source=AuditEvent.Source.ADMIN, target=None)

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        services.milestones_changed(actor=request.user, source=AuditEvent.Source.ADMIN, target=None)


@admin.register(SyncExclusion)
class SyncExclusionAdmin(admin.ModelAdmin):
    list_display = ("user", "reason", "created_by", "created_at")
    list_select_related = ("user", "created_by")
    search_fields = ("user__username", "user__email", "reason")
    autocomplete_fields = ("user",)
    readonly_fields = ("created_by", "created_at")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        services.record_exclusion_change(
            exclusion=obj,
            actor=request.user,
            change="changed" if change else "added",
            source=AuditEvent.Source.ADMIN,
        )

    def delete_model(self, request, obj):
        services.record_exclusion_change(
            exclusion=obj, actor=request.user, change="removed", source=AuditEvent.Source.ADMIN
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for exclusion in queryset:
            services.record_exclusion_change(
                exclusion=exclusion, actor=request.user, change="removed", source=AuditEvent.Source.ADMIN
            )
        super().delete_queryset(request, queryset)


@admin.register(RoleSyncRun)
class RoleSyncRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "created_at",
        "trigger",
        "status_badge",
        "members_checked",
        "planned",
        "applied",
        "failed",
        "skipped",
        "rate_limited_count",
        "duration_ms",
    )
    list_filter = ("status", "trigger")
    actions = ["confirm_and_apply"]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("trigger", "status"),
                    ("members_checked", "planned", "applied", "failed", "skipped", "rate_limited_count"),
                    "error_list",
                    "plan_lines",
                )
            },
        ),
        (
            "Details",
            {
                "fields": (
                    ("requested_by", "confirmation_of"),
                    ("target_user_ids", "target_discord_ids"),
                    ("created_at", "started_at", "finished_at", "duration_ms"),
                )
            },
        ),
    )
    # A run's record is written by the sync only: every field shown is read-only.
    readonly_fields = flatten_fieldsets(fieldsets)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_object(request, object_id)
        if run is not None and run.status == RoleSyncRun.Status.AWAITING_CONFIRMATION:
            self.message_user(
                request,
                "The safety brake held this run: check the plan below, then select it in the list and use "
                "“Confirm and apply”.",
                level=messages.WARNING,
            )
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, run: RoleSyncRun) -> str:
        if run.status == RoleSyncRun.Status.AWAITING_CONFIRMATION:
            return format_html('<strong class="badge">{}</strong>', run.get_status_display())
        return run.get_status_display()

    @admin.display(description="Errors")
    def error_list(self, run: RoleSyncRun) -> str:
        if not run.errors:
            return "—"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{} <small>(×{})</small></li>",
                ((e["message"], e.get("count", 1)) for e in run.errors),
            ),
        )

    @admin.display(description="Plan")
    def plan_lines(self, run: RoleSyncRun) -> str:
        if not run.plan:
            return "—"
        lines = [
            f"{'+' if e['action'] == 'add' else '-'} {e['member']} ({e['discord_id']}) "
            f'{"gains" if e["action"] == "add" else "loses"} "{e["role"]}"'
            for e in run.plan[:PLAN_LINES_SHOWN]
        ]
        if len(run.plan) > PLAN_LINES_SHOWN:
            lines.append(f"… and {len(run.plan) - PLAN_LINES_SHOWN} more")
        return format_html("<pre>{}</pre>", "\n".join(lines))

    @admin.action(description="Confirm and apply (re-checks the plan first)", permissions=["confirm"])
    def confirm_and_apply(self, request, queryset):
        for run in queryset:
            try:
                follow_up = services.confirm_run(
                    run_id=run.pk, actor=request.user, source=AuditEvent.Source.ADMIN
                )
            except DomainError as exc:
                self.message_user(request, exc.message, level=messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"Role sync #{run.pk} confirmed: run #{follow_up.pk} re-plans and applies the changes "
                    "that "
                    "are still in the confirmed plan.",
                    level=messages.SUCCESS,
                )

    def has_confirm_permission(self, request) -> bool:
        return request.user.has_perm("rolesync.confirm_role_sync")
