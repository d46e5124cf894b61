"""The members' credits pages: ask for credits and follow your requests."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from ipware import get_client_ip

from accounts.models import AuditEvent
from credits import selectors, services
from credits.forms import CreditRequestForm
from credits.models import CreditRequest
from dealscale.errors import DomainError
from dealscale.forms import add_error_to_form
from dealscale.messages import add_message_for_error

REQUESTS_PER_PAGE = 20


@login_required
@require_http_methods(["GET", "POST"])
def credits_page(request):
    form = CreditRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            credit_request = services.request_credits(
                user=request.user,
                amount=form.cleaned_data["amount"],
                reason=form.cleaned_data["reason"],
                origin=CreditRequest.Source.WEB,
            )
        except DomainError as error:
            add_error_to_form(form, error)
        else:
            messages.success(
                request,
                f"Request #{credit_request.pk} for {credit_request.amount:,} credits "
                "is waiting for a moderator.",
            )
            return redirect("credits")
    page = Paginator(selectors.requests_for(request.user), REQUESTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {
        "form": form,
        "balance": selectors.balance_for(request.user),
        "page": page,
        "pending_count": selectors.pending_requests_for(request.user).count(),
    }
    return render(request, "credits/credits.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def cancel_request_view(request, request_id: int):
    # Another member's request is "not found", never "forbidden": ids are not disclosed.
    if not selectors.requests_for(request.user).filter(pk=request_id).exists():
        raise Http404("No such credit request.")
    try:
        services.cancel_request(
            request_id, actor=request.user, source=AuditEvent.Source.WEB, ip_address=get_client_ip(request)[0]
        )
    except DomainError as error:
        add_message_for_error(request, error)
    else:
        messages.success(request, f"Request #{request_id} is cancelled.")
    return redirect("credits")
