from datetime import UTC, datetime

import pytest
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditEvent
from credits import selectors, services
from credits.models import CreditRequest, LedgerEntry
from credits.tests.factories import CreditRequestFactory, ModeratorFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST_URL = "/admin/credits/creditrequest/"
LEDGER_URL = "/admin/credits/ledgerentry/"
ADJUST_URL = "/admin/credits/ledgerentry/adjust/"


@pytest.fixture
def moderator():
    return ModeratorFactory()


@pytest.fixture
def moderator_client(client, moderator):
    client.force_login(moderator)
    return client


@pytest.fixture
def plain_staff_client(client):
    """Staff who may view credit requests but lack the moderation permission."""
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_creditrequest", "view_ledgerentry"])
    )
    client.force_login(staff)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def approve(credit_request, moderator):
    return services.approve_request(credit_request.pk, actor=moderator, source="admin")


# --- The list ----------------------------------------------------------------------------------


def test_the_list_shows_pending_requests_first_newest_first_with_balance_and_pending_count(
    moderator_client, moderator, settings
):
    settings.CREDITS_MAX_PENDING = 5
    member = UserFactory()
    old_pending = CreditRequestFactory(user=member, amount=10)
    granted = CreditRequestFactory(user=member, amount=250)
    approve(granted, moderator)
    new_pending = CreditRequestFactory(user=member, amount=30)
    response = moderator_client.get(LIST_URL)
    assert response.status_code == 200
    rows = list(response.context["cl"].result_list)
    assert [r.pk for r in rows] == [new_pending.pk, old_pending.pk, granted.pk]
    assert {(r.user_balance, r.user_pending_count) for r in rows} == {(250, 2)}
    assert "Member&#x27;s balance" in response.text or "Member's balance" in response.text


def test_the_list_costs_the_same_queries_for_3_or_30_requests(moderator_client):
    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert moderator_client.get(LIST_URL).status_code == 200
        return len(captured)

    for _ in range(3):
        CreditRequestFactory()
    few = queries_for_list()
    for _ in range(27):
        CreditRequestFactory()
    assert queries_for_list() == few


@pytest.mark.parametrize(
    "filters",
    [
        {"status__exact": "pending"},
        {"source__exact": "web"},
        {"created_at__gte": "2020-01-01 00:00:00+00:00", "created_at__lt": "2999-01-01 00:00:00+00:00"},
    ],
)
def test_the_list_filters_by_status_source_and_date(moderator_client, moderator, filters):
    pending = CreditRequestFactory()
    approve(CreditRequestFactory(source="api", created_at=datetime(2019, 6, 1, tzinfo=UTC)), moderator)
    response = moderator_client.get(LIST_URL, filters)
    assert response.status_code == 200
    assert [r.pk for r in response.context["cl"].result_list] == [pending.pk]


def test_search_finds_a_request_by_username_email_or_discord_id(moderator_client):
    member = UserFactory(username="zoe", email="zoe@dealscale.example")
    SocialAccount.objects.create(user=member, provider="discord", uid="80351110224678912")
    wanted = CreditRequestFactory(user=member)
    CreditRequestFactory()
    for term in ("zoe", "zoe@dealscale.example", "80351110224678912"):
        response = moderator_client.get(LIST_URL, {"q": term})
        assert [r.pk for r in response.context["cl"].result_list] == [wanted.pk], term


# --- One request: buttons and confirmation -----------------------------------------------------


def test_a_pending_requests_page_has_approve_and_deny_buttons(moderator_client):
    credit_request = CreditRequestFactory()
    response = moderator_client.get(f"{LIST_URL}{credit_request.pk}/change/")
    assert response.status_code == 200
    assert f"{LIST_URL}{credit_request.pk}/approve/" in response.text
    assert f"{LIST_URL}{credit_request.pk}/deny/" in response.text


def test_a_decided_requests_page_has_no_decision_buttons(moderator_client, moderator):
    credit_request = CreditRequestFactory()
    approve(credit_request, moderator)
    response = moderator_client.get(f"{LIST_URL}{credit_request.pk}/change/")
    assert response.status_code == 200
    assert f"{credit_request.pk}/approve/" not in response.text


def test_approving_from_the_page_asks_for_confirmation_then_grants(moderator_client, moderator):
    credit_request = CreditRequestFactory(amount=640)
    url = f"{LIST_URL}{credit_request.pk}/approve/"
    confirmation = moderator_client.get(url)
    assert confirmation.status_code == 200
    assert "Yes, approve 1 request" in confirmation.text
    credit_request.refresh_from_db()
    assert credit_request.status == "pending"

    response = moderator_client.post(url, {"note": "Well deserved"}, REMOTE_ADDR="10.9.8.7")
    assert response.status_code == 302 and response["Location"] == f"{LIST_URL}{credit_request.pk}/change/"
    credit_request.refresh_from_db()
    assert (credit_request.status, credit_request.decision_note, credit_request.decided_by) == (
        "approved",
        "Well deserved",
        moderator,
    )
    assert selectors.balance_for(credit_request.user) == 640
    event = AuditEvent.objects.get(action="credit_request.approved")
    assert (event.source, event.ip_address) == ("admin", "10.9.8.7")
    assert messages_of(response) == [f"Approved 1 credit request(s): #{credit_request.pk}."]


def test_denying_from_the_page_requires_a_reason(moderator_client):
    credit_request = CreditRequestFactory()
    url = f"{LIST_URL}{credit_request.pk}/deny/"
    refused = moderator_client.post(url, {"note": ""})
    assert refused.status_code == 200
    assert refused.context["form"].errors == {"note": ["This field is required."]}
    credit_request.refresh_from_db()
    assert credit_request.status == "pending"

    moderator_client.post(url, {"note": "Not a community event"})
    credit_request.refresh_from_db()
    assert (credit_request.status, credit_request.decision_note) == ("denied", "Not a community event")


def test_a_request_decided_before_the_confirmation_is_reported_not_decided_twice(moderator_client, moderator):
    credit_request = CreditRequestFactory(amount=100)
    url = f"{LIST_URL}{credit_request.pk}/approve/"
    assert moderator_client.get(url).status_code == 200
    approve(credit_request, ModeratorFactory())  # another moderator, meanwhile

    response = moderator_client.post(url, {"note": ""})
    assert response.status_code == 302
    assert messages_of(response) == [f"Credit request #{credit_request.pk} was already approved."]
    assert LedgerEntry.objects.filter(request=credit_request).count() == 1
    assert selectors.balance_for(credit_request.user) == 100


# --- Bulk actions ------------------------------------------------------------------------------


def post_action(client, action, requests, **extra):
    return client.post(LIST_URL, {"action": action, "_selected_action": [r.pk for r in requests], **extra})


def test_bulk_approval_confirms_then_grants_each_pending_request_and_reports_the_decided_ones(
    moderator_client, moderator
):
    first, second = CreditRequestFactory(amount=10), CreditRequestFactory(amount=20)
    already = CreditRequestFactory(amount=30)
    services.deny_request(already.pk, actor=moderator, note="Duplicate", source="admin")

    confirmation = post_action(moderator_client, "approve_selected", [first, second, already])
    assert confirmation.status_code == 200
    assert confirmation.templates[0].name == "admin/credits/creditrequest/confirm_decision.html"
    assert "Yes, approve 2 requests" in confirmation.text
    assert CreditRequest.objects.filter(status="approved").count() == 0

    response = post_action(
        moderator_client, "approve_selected", [first, second, already], confirm="yes", note="Batch"
    )
    assert response.status_code == 302
    assert messages_of(response) == [
        f"Approved 2 credit request(s): #{first.pk}, #{second.pk}.",
        f"Credit request #{already.pk} was already denied.",
    ]
    assert {r.pk: r.status for r in CreditRequest.objects.all()} == {
        first.pk: "approved",
        second.pk: "approved",
        already.pk: "denied",
    }
    assert LedgerEntry.objects.count() == 2


def test_bulk_denial_needs_a_reason(moderator_client):
    requests = [CreditRequestFactory(), CreditRequestFactory()]
    refused = post_action(moderator_client, "deny_selected", requests, confirm="yes", note="")
    assert refused.status_code == 200
    assert refused.context["form"].errors == {"note": ["This field is required."]}
    assert not CreditRequest.objects.exclude(status="pending").exists()

    response = post_action(moderator_client, "deny_selected", requests, confirm="yes", note="Out of budget")
    assert response.status_code == 302
    assert set(CreditRequest.objects.values_list("status", "decision_note")) == {("denied", "Out of budget")}


# --- Permissions -------------------------------------------------------------------------------


def test_staff_without_the_permission_see_requests_but_cannot_decide(plain_staff_client):
    credit_request = CreditRequestFactory()
    listing = plain_staff_client.get(LIST_URL)
    assert listing.status_code == 200
    assert "approve_selected" not in listing.text
    page = plain_staff_client.get(f"{LIST_URL}{credit_request.pk}/change/")
    assert f"{credit_request.pk}/approve/" not in page.text

    assert plain_staff_client.get(f"{LIST_URL}{credit_request.pk}/approve/").status_code == 403
    assert plain_staff_client.post(f"{LIST_URL}{credit_request.pk}/deny/", {"note": "no"}).status_code == 403
    post_action(plain_staff_client, "approve_selected", [credit_request], confirm="yes", note="")
    assert plain_staff_client.get(ADJUST_URL).status_code == 403
    credit_request.refresh_from_db()
    assert credit_request.status == "pending"
    assert not LedgerEntry.objects.exists()


def test_members_cannot_reach_the_credits_admin(client):
    client.force_login(UserFactory())
    assert client.get(LIST_URL).status_code == 302  # to the admin login
    assert client.get(ADJUST_URL).status_code == 302


def test_a_superuser_moderates_without_an_explicit_permission(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    credit_request = CreditRequestFactory()
    client.post(f"{LIST_URL}{credit_request.pk}/approve/", {"note": ""})
    credit_request.refresh_from_db()
    assert credit_request.status == "approved"


# --- Ledger and adjustments --------------------------------------------------------------------


def test_ledger_entries_are_read_only_in_the_admin(moderator_client, moderator):
    member = UserFactory()
    entry = services.adjust_balance(
        user=member, amount=50, reason="Welcome gift", actor=moderator, source="admin"
    )
    assert moderator_client.get(LEDGER_URL).status_code == 200
    page = moderator_client.get(f"{LEDGER_URL}{entry.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.text
    assert moderator_client.post(f"{LEDGER_URL}{entry.pk}/change/", {"amount": 5000}).status_code == 403
    assert moderator_client.post(f"{LEDGER_URL}{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert moderator_client.get(f"{LEDGER_URL}add/").status_code == 403
    assert LedgerEntry.objects.get(pk=entry.pk).amount == 50


def test_the_adjustment_form_writes_a_ledger_entry_with_its_reason(moderator_client, moderator):
    member = UserFactory(username="yusuf")
    form_page = moderator_client.get(ADJUST_URL, {"username": "yusuf"})
    assert form_page.status_code == 200 and form_page.context["form"]["username"].value() == "yusuf"

    response = moderator_client.post(
        ADJUST_URL, {"username": "yusuf", "amount": "750", "reason": "Raffle prize"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{LEDGER_URL}?user={member.pk}"
    assert moderator_client.get(response["Location"]).status_code == 200
    entry = LedgerEntry.objects.get(user=member)
    assert (entry.kind, entry.amount, entry.reason, entry.actor) == (
        "adjustment",
        750,
        "Raffle prize",
        moderator,
    )
    assert messages_of(response) == ["Adjusted yusuf by +750 credits; the balance is now 750."]
    assert AuditEvent.objects.filter(action="credits.balance_adjusted", source="admin").count() == 1


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"username": "yusuf", "amount": "-1", "reason": "Clawback"}, "amount", "cannot go below zero"),
        ({"username": "yusuf", "amount": "0", "reason": "Nothing"}, "amount", "non-zero whole number"),
        ({"username": "yusuf", "amount": "5", "reason": ""}, "reason", "This field is required."),
        ({"username": "nobody", "amount": "5", "reason": "Bonus"}, "username", "No member with the username"),
        ({"username": "yusuf", "amount": "lots", "reason": "Bonus"}, "amount", "Enter a whole number."),
    ],
)
def test_the_adjustment_form_explains_what_is_wrong(moderator_client, data, field, message):
    UserFactory(username="yusuf")
    response = moderator_client.post(ADJUST_URL, data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not LedgerEntry.objects.exists()
