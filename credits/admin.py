"""The moderators' main tool: credit requests to decide, the read-only ledger and manual adjustments.

Every decision and adjustment goes through `credits.services`; the admin only confirms and reports.
"""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from ipware import get_client_ip

from accounts.models import AuditEvent
from credits import selectors, services
from credits.forms import BalanceAdjustmentForm, DecisionForm, DenialForm
from credits.models import PENDING_FIRST, CreditAccount, CreditRequest, LedgerEntry
from dealscale.admin_mixins import ReadOnlyAdminMixin, message_user_for_error
from dealscale.errors import Conflict, DomainError, NotFound
from dealscale.forms import add_error_to_form

APPROVE, DENY = "approve", "deny"
DECISION_FORMS = {APPROVE: DecisionForm, DENY: DenialForm}


class ModeratorsCanView(ReadOnlyAdminMixin):
    """Moderators see the credits admin with the moderation permission alone (no view_* needed)."""

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or selectors.can_moderate(request.user)


def client_ip(request) -> str | None:
    return get_client_ip(request)[0]


@admin.register(CreditRequest)
class CreditRequestAdmin(ModeratorsCanView, admin.ModelAdmin):
    list_display = (
        "id",
        "user",
        "amount",
        "status",
        "source",
        "created_at",
        "decided_at",
        "user_balance",
        "user_pending",
    )
    list_display_links = ("id", "user")
    list_filter = ("status", "source", "created_at", "decided_at")
    search_fields = ("user__username", "user__email", "user__socialaccount__uid")
    search_help_text = "Search by username, email or Discord id."
    list_select_related = ("user",)
    ordering = (PENDING_FIRST.asc(), "-created_at", "-id")
    date_hierarchy = "created_at"
    actions = ["approve_selected", "deny_selected"]
    fields = (
        "user",
        "user_balance",
        "user_pending",
        "amount",
        "reason",
        "status",
        "source",
        "created_at",
        "decided_at",
        "decided_by",
        "decision_note",
        "idempotency_key",
    )
    readonly_fields = fields
    change_form_template = "admin/credits/creditrequest/change_form.html"
    confirmation_template = "admin/credits/creditrequest/confirm_decision.html"

    def get_queryset(self, request):
        # Balance and pending count come annotated: one query for the whole page, no N+1.
        return selectors.with_user_figures(super().get_queryset(request))

    @admin.display(description="Member's balance", ordering="user_balance")
    def user_balance(self, obj: CreditRequest) -> int:
        return obj.user_balance

    @admin.display(description="Member's pending", ordering="user_pending_count")
    def user_pending(self, obj: CreditRequest) -> int:
        return obj.user_pending_count

    def has_moderate_permission(self, request) -> bool:
        return selectors.can_moderate(request.user)

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path(
                "<path:object_id>/approve/",
                self.admin_site.admin_view(self.approve_view),
                name=f"{prefix}_approve",
            ),
            path("<path:object_id>/deny/", self.admin_site.admin_view(self.deny_view), name=f"{prefix}_deny"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_moderate_credits": selectors.can_moderate(request.user),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    # --- One request: the buttons of the change page --------------------------------------------

    def approve_view(self, request, object_id):
        return self._decide_one(request, object_id, decision=APPROVE)

    def deny_view(self, request, object_id):
        return self._decide_one(request, object_id, decision=DENY)

    def _decide_one(self, request, object_id, *, decision: str):
        if not self.has_moderate_permission(request):
            raise PermissionDenied
        credit_request = self.get_object(request, unquote(object_id))
        if credit_request is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        change_url = reverse("admin:credits_creditrequest_change", args=[quote(credit_request.pk)])
        if not credit_request.is_pending:
            self.message_user(
                request,
                f"Credit request #{credit_request.pk} was already {credit_request.status}.",
                messages.WARNING,
            )
            return HttpResponseRedirect(change_url)
        form = DECISION_FORMS[decision](request.POST or None)
        if request.method == "POST" and form.is_valid():
            self._apply_decision(
                request, [credit_request.pk], decision=decision, note=form.cleaned_data["note"]
            )
            return HttpResponseRedirect(change_url)
        return self._confirmation_page(request, [credit_request], form=form, decision=decision, bulk=False)

    # --- Many requests: the bulk actions of the list ----------------------------------------------

    @admin.action(description="Approve selected credit requests…", permissions=["moderate"])
    def approve_selected(self, request, queryset):
        return self._decide_selected(request, queryset, decision=APPROVE)

    @admin.action(description="Deny selected credit requests…", permissions=["moderate"])
    def deny_selected(self, request, queryset):
        return self._decide_selected(request, queryset, decision=DENY)

    def _decide_selected(self, request, queryset, *, decision: str):
        form_class = DECISION_FORMS[decision]
        if "confirm" in request.POST:
            form = form_class(request.POST)
            if form.is_valid():
                ids = list(queryset.order_by("pk").values_list("pk", flat=True))
                self._apply_decision(request, ids, decision=decision, note=form.cleaned_data["note"])
                return None
        else:
            form = form_class()
        return self._confirmation_page(request, list(queryset), form=form, decision=decision, bulk=True)

    # --- Shared by both ---------------------------------------------------------------------------

    def _confirmation_page(self, request, credit_requests, *, form, decision: str, bulk: bool):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{'Approve' if decision == APPROVE else 'Deny'} credit request{'s' if bulk else ''}",
            "credit_requests": credit_requests,
            "pending_count": sum(1 for r in credit_requests if r.is_pending),
            "form": form,
            "decision": decision,
            "bulk": bulk,
            "action": f"{decision}_selected",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, self.confirmation_template, context)

    def _apply_decision(self, request, request_ids: list[int], *, decision: str, note: str) -> None:
        service = services.approve_request if decision == APPROVE else services.deny_request
        decided, skipped = [], []
        for request_id in request_ids:
            try:
                service(
                    request_id,
                    actor=request.user,
                    note=note,
                    source=AuditEvent.Source.ADMIN,
                    ip_address=client_ip(request),
                )
            except (Conflict, NotFound) as error:
                # This request was decided or deleted since the page was shown: the others go on.
                skipped.append(error)
            except DomainError as error:
                # A refusal that would hold for every request (permission, note): stop at the first.
                message_user_for_error(self, request, error)
                return
            else:
                decided.append(f"#{request_id}")
        verb = "Approved" if decision == APPROVE else "Denied"
        if decided:
            self.message_user(
                request, f"{verb} {len(decided)} credit request(s): {', '.join(decided)}.", messages.SUCCESS
            )
        for error in skipped:
            message_user_for_error(self, request, error)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ModeratorsCanView, admin.ModelAdmin):
    list_display = (
        "created_at",
        "user",
        "signed_amount",
        "kind",
        "balance_after",
        "request_link",
        "actor",
        "reason",
    )
    list_filter = ("kind", "created_at")
    search_fields = ("user__username", "user__email", "user__socialaccount__uid", "reason")
    search_help_text = "Search by username, email, Discord id or reason."
    list_select_related = ("user", "actor", "request")
    date_hierarchy = "created_at"
    fields = ("user", "amount", "kind", "balance_after", "request", "actor", "reason", "created_at")
    readonly_fields = fields
    change_list_template = "admin/credits/ledgerentry/change_list.html"

    @admin.display(description="Amount", ordering="amount")
    def signed_amount(self, obj: LedgerEntry) -> str:
        return f"{obj.amount:+,}"

    @admin.display(description="Request", ordering="request")
    def request_link(self, obj: LedgerEntry) -> str:
        if obj.request_id is None:
            return "—"
        url = reverse("admin:credits_creditrequest_change", args=[obj.request_id])
        return format_html('<a href="{}">#{}</a>', url, obj.request_id)

    def get_urls(self):
        return [
            path("adjust/", self.admin_site.admin_view(self.adjust_view), name="credits_ledgerentry_adjust"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_moderate_credits": selectors.can_moderate(request.user),
        }
        return super().changelist_view(request, extra_context)

    def adjust_view(self, request):
        if not selectors.can_moderate(request.user):
            raise PermissionDenied
        form = BalanceAdjustmentForm(
            request.POST or None, initial={"username": request.GET.get("username", "")}
        )
        if request.method == "POST" and form.is_valid():
            member = form.cleaned_data["username"]
            try:
                entry = services.adjust_balance(
                    user=member,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                    source=AuditEvent.Source.ADMIN,
                    ip_address=client_ip(request),
                )
            except DomainError as error:
                add_error_to_form(form, error)
            else:
                self.message_user(
                    request,
                    f"Adjusted {member.username} by {entry.amount:+,} credits; the balance is now "
                    f"{entry.balance_after:,}.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    f"{reverse('admin:credits_ledgerentry_changelist')}?user={member.pk}"
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Adjust a member's balance",
            "form": form,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/credits/ledgerentry/adjust.html", context)


@admin.register(CreditAccount)
class CreditAccountAdmin(ModeratorsCanView, admin.ModelAdmin):
    list_display = ("user", "balance", "updated_at")
    search_fields = ("user__username", "user__email", "user__socialaccount__uid")
    search_help_text = "Search by username, email or Discord id."
    list_select_related = ("user",)
    ordering = ("-balance",)
    fields = ("user", "balance", "updated_at")
    readonly_fields = fields
