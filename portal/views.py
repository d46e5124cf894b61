"""The member's pages: the home page and the profile (Discord link, credits, rank and API tokens)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from ipware import get_client_ip

from accounts import selectors
from accounts.forms import APITokenForm
from accounts.models import AuditEvent
from accounts.services import create_api_token, revoke_api_token, unlink_discord
from credits.selectors import balance_for, pending_requests_for
from dealscale.errors import DomainError
from dealscale.messages import add_message_for_error
from leaderboard.selectors import entry_for
from linkedroles.selectors import show_consent_prompt


def home(request):
    return render(request, "home.html")


def _profile_context(request, **extra) -> dict:
    user = request.user
    context = {
        "discord": selectors.discord_profile_for(user),
        "discord_enabled": selectors.discord_integration_enabled_for(request),
        "discord_configured": selectors.discord_oauth_configured(),
        "balance": balance_for(user),
        "pending_requests": pending_requests_for(user)[:5],
        "rank": entry_for(user, period="all"),
        "api_tokens": selectors.api_tokens_for(user),
        "token_form": APITokenForm(),
        "linked_roles_prompt": show_consent_prompt(user),
    }
    context.update(extra)
    return context


@login_required
def profile(request):
    return render(request, "accounts/profile.html", _profile_context(request))


@login_required
@require_POST
def unlink_discord_view(request):
    try:
        unlink_discord(
            user=request.user,
            actor=request.user,
            source=AuditEvent.Source.WEB,
            ip_address=get_client_ip(request)[0],
        )
    except DomainError as error:
        add_message_for_error(request, error)
    else:
        messages.success(request, "Discord is unlinked and its access was revoked.")
    return redirect("profile")


@login_required
@require_POST
def create_api_token_view(request):
    form = APITokenForm(request.POST)
    if not form.is_valid():
        return render(
            request, "accounts/profile.html", _profile_context(request, token_form=form), status=400
        )
    token, key = create_api_token(
        user=request.user,
        name=form.cleaned_data["name"],
        actor=request.user,
        source=AuditEvent.Source.WEB,
        ip_address=get_client_ip(request)[0],
    )
    # Rendered, not redirected: the clear key is shown once and never stored, not even in the session.
    return render(request, "accounts/profile.html", _profile_context(request, new_token=token, new_key=key))


@login_required
@require_POST
def revoke_api_token_view(request, token_id: int):
    try:
        token = revoke_api_token(
            token_id=token_id,
            actor=request.user,
            source=AuditEvent.Source.WEB,
            ip_address=get_client_ip(request)[0],
        )
    except DomainError as error:
        add_message_for_error(request, error)
    else:
        messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("profile")
