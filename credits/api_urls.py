from django.urls import path

from credits import api

urlpatterns = [
    path("credits/balance", api.CreditBalanceApi.as_view(), name="api-credits-balance"),
    path("credit-requests", api.CreditRequestListCreateApi.as_view(), name="api-credit-requests"),
    path(
        "credit-requests/<int:request_id>/cancel",
        api.CreditRequestCancelApi.as_view(),
        name="api-credit-request-cancel",
    ),
    path("admin/credit-requests", api.ModerationListApi.as_view(), name="api-admin-credit-requests"),
    path(
        "admin/credit-requests/<int:request_id>/approve",
        api.ApproveRequestApi.as_view(),
        name="api-admin-credit-request-approve",
    ),
    path(
        "admin/credit-requests/<int:request_id>/deny",
        api.DenyRequestApi.as_view(),
        name="api-admin-credit-request-deny",
    ),
]
