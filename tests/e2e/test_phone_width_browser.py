"""At phone width (390 px) a long unbroken word a user typed (an address pasted into a deal
name, a request or a note) wraps instead of widening the page: an outside audit measured
/deals/ at 481 px, /analytics/requests/ at 594 px and /notifications/ at 451 px."""

from __future__ import annotations

import pytest

from accounts.roles import REP
from analytics.content_requests import content_request_create
from analytics.services import DealInput, deal_upsert
from notifications.services import notify
from tests.e2e.conftest import login
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db(transaction=True)

LONG = "https://sharepoint.example.com/sites/sales/" + "Shared%20Documents%2F" * 8


@pytest.mark.parametrize("path", ["/deals/", "/analytics/requests/", "/notifications/"])
def test_long_words_wrap_at_phone_width(phone_page, path):
    rep = make_user("rita", role=REP)
    deal_upsert(data=DealInput(external_id="006L", name=LONG, stage="Prospecting", owner="rita"))
    content_request_create(user=rep, text=f"Case study like {LONG}")
    notify(users=[rep], kind="test", text=f"Your buyer opened {LONG}", url="/")
    login(phone_page, "rita", PASSWORD)
    phone_page.goto(path)
    assert phone_page.get_by_text("Shared%20Documents", exact=False).first.is_visible()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
