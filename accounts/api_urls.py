from django.urls import path

from accounts import api

urlpatterns = [
    path("tokens", api.APITokenListCreateApi.as_view(), name="api-tokens"),
    path("tokens/<int:token_id>", api.APITokenRevokeApi.as_view(), name="api-token-detail"),
]
