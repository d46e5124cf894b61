from django.urls import path

from rolesync import api

urlpatterns = [
    path("sync-roles", api.SyncRolesApi.as_view(), name="rolesync-sync-roles"),
]
