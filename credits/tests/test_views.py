import pytest
from django.contrib.messages import get_messages

from credits import services
from credits.models import CreditRequest
from credits.tests.factories import CreditRequestFactory, ModeratorFactory, UserFactory

pytestmark = pytest.mark.django_db

REASON = "Moderated the Friday voice chat"


@pytest.fixture
def member(client):
    member = UserFactory()
    client.force_login(member)
    return member


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/credits/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_page_shows_the_balance_and_only_the_members_own_requests(client, member):
    moderator = ModeratorFactory()
    services.approve_request(
        CreditRequestFactory(user=member, amount=1_250).pk, actor=moderator, source="api"
    )
    mine = CreditRequestFactory(user=member, reason="My own pending request")
    CreditRequestFactory(reason="Somebody else's request")
    response = client.get("/credits/")
    assert response.status_code == 200
    assert response.context["balance"] == 1_250
    assert response.context["page"].object_list[0] == mine
    assert "My own pending request" in response.text and "Somebody else" not in response.text
    assert f"/credits/{mine.pk}/cancel/" in response.text


def test_a_member_asks_for_credits_from_the_page(client, member):
    response = client.post("/credits/", {"amount": "300", "reason": REASON})
    assert response.status_code == 302 and response["Location"] == "/credits/"
    credit_request = CreditRequest.objects.get(user=member)
    assert (credit_request.amount, credit_request.source, credit_request.status) == (300, "web", "pending")
    assert messages_of(response) == [
        f"Request #{credit_request.pk} for 300 credits is waiting for a moderator."
    ]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"amount": "abc", "reason": REASON}, "amount", "Enter a whole number."),
        ({"amount": "20000", "reason": REASON}, "amount", "(CREDITS_MAX_REQUEST)"),
        ({"amount": "10", "reason": "short"}, "reason", "10 to 500 characters"),
    ],
)
def test_bad_input_is_shown_next_to_its_field(client, member, data, field, message):
    response = client.post("/credits/", data)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert not CreditRequest.objects.exists()


def test_a_refused_limit_is_explained_above_the_form(client, member):
    CreditRequestFactory(user=member)
    response = client.post("/credits/", {"amount": "10", "reason": REASON})
    assert response.status_code == 400
    assert "CREDITS_MAX_PENDING" in response.context["form"].non_field_errors()[0]


def test_a_member_cancels_a_pending_request_from_the_page(client, member):
    credit_request = CreditRequestFactory(user=member)
    response = client.post(f"/credits/{credit_request.pk}/cancel/")
    assert response.status_code == 302
    credit_request.refresh_from_db()
    assert credit_request.status == "cancelled"
    assert messages_of(response) == [f"Request #{credit_request.pk} is cancelled."]


def test_cancelling_a_decided_request_says_so(client, member):
    credit_request = CreditRequestFactory(user=member)
    services.approve_request(credit_request.pk, actor=ModeratorFactory(), source="admin")
    response = client.post(f"/credits/{credit_request.pk}/cancel/")
    assert messages_of(response) == [f"Credit request #{credit_request.pk} was already approved."]


def test_another_members_request_cannot_be_cancelled_and_is_not_disclosed(client, member):
    others = CreditRequestFactory()
    assert client.post(f"/credits/{others.pk}/cancel/").status_code == 404
    assert client.get(f"/credits/{others.pk}/cancel/").status_code == 405
    others.refresh_from_db()
    assert others.status == "pending"
