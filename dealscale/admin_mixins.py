"""Admin pieces the apps share."""

from django.contrib import admin
from django.http import HttpRequest

from dealscale.errors import DomainError
from dealscale.messages import message_level_for


def message_user_for_error(model_admin: admin.ModelAdmin, request: HttpRequest, error: DomainError) -> None:
    """Tell the admin user why a service refused: its message, a warning when the state merely moved on."""
    model_admin.message_user(request, error.message, message_level_for(error))


class ReadOnlyAdminMixin:
    """Staff may look, never add, change or delete: these rows are written by services only.

    Put it before `admin.ModelAdmin` in the bases. `obj=None` on the add check keeps it usable on
    inlines too, whose `has_add_permission` takes the parent object.
    """

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
