"""waffle's Flag admin, audited: every flag created, edited, switched or deleted in the admin is recorded.

The flags are the kill switch and the rollout of the Discord integration, so who changed them matters as
much as a credit decision. The admin knows the signed-in staff member, which a model signal does not; the
CLI (`manage.py discord_integration`) records its own `flag.changed` events through `accounts.discord_integration`.
"""

from django.contrib import admin
from django.db import transaction
from waffle import admin as waffle_admin
from waffle.models import Flag

from accounts.models import AuditEvent
from accounts.services import record_audit_event

FLAG_FIELDS = (
    "everyone",
    "percent",
    "testing",
    "superusers",
    "staff",
    "authenticated",
    "languages",
    "rollout",
)


def flag_state(flag: Flag) -> dict:
    """What a flag decides, JSON-ready: its switches plus the groups and users it names."""
    state = {name: getattr(flag, name) for name in FLAG_FIELDS}
    state["percent"] = None if flag.percent is None else str(flag.percent)
    state["groups"] = sorted(flag.groups.values_list("name", flat=True)) if flag.pk else []
    state["users"] = sorted(flag.users.values_list("pk", flat=True)) if flag.pk else []
    return state


def _record(request, *, action: str, flag: Flag, before: dict | None, after: dict | None) -> None:
    if before is not None and after is not None:
        data = {
            name: {"before": before[name], "after": after[name]}
            for name in after
            if before[name] != after[name]
        }
        if not data:
            return
    else:
        data = after if after is not None else before
    record_audit_event(
        actor=request.user,
        action=action,
        source=AuditEvent.Source.ADMIN,
        target=flag,
        data={"flag": flag.name, **data},
        ip_address=request.META.get("REMOTE_ADDR"),
    )


def _switch_for_everyone(waffle_action, request, queryset) -> None:
    with transaction.atomic():
        flags = list(queryset)
        before = {flag.pk: flag_state(flag) for flag in flags}
        waffle_action(None, request, queryset)
        for flag in Flag.objects.filter(pk__in=before):
            _record(request, action="flag.changed", flag=flag, before=before[flag.pk], after=flag_state(flag))


@admin.action(description="Enable selected flags for everyone", permissions=("change",))
def enable_for_all(modeladmin, request, queryset):
    _switch_for_everyone(waffle_admin.enable_for_all, request, queryset)


@admin.action(description="Disable selected flags for everyone", permissions=("change",))
def disable_for_all(modeladmin, request, queryset):
    _switch_for_everyone(waffle_admin.disable_for_all, request, queryset)


@admin.action(description="Delete selected", permissions=("delete",))
def delete_individually(modeladmin, request, queryset):
    with transaction.atomic():
        for flag in queryset:
            _record(request, action="flag.deleted", flag=flag, before=flag_state(flag), after=None)
        waffle_admin.delete_individually(None, request, queryset)


class AuditedFlagAdmin(waffle_admin.FlagAdmin):
    actions = [enable_for_all, disable_for_all, delete_individually]

    def save_model(self, request, obj, form, change):
        # Read from the database: `obj` already carries the submitted values. Groups and users are saved
        # in save_related, so the comparison waits until then.
        form.flag_before = flag_state(Flag.objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        action = "flag.changed" if change else "flag.created"
        _record(
            request,
            action=action,
            flag=form.instance,
            before=form.flag_before,
            after=flag_state(form.instance),
        )

    def delete_model(self, request, obj):
        _record(request, action="flag.deleted", flag=obj, before=flag_state(obj), after=None)
        super().delete_model(request, obj)
