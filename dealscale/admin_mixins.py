"""Admin pieces the apps share."""


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
