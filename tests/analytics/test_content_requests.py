"""The content-request backlog: asking, backing, merging, answering, and who hears back."""

import csv
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from django.utils.formats import date_format

from accounts.roles import ENABLEMENT_LEAD, MARKETER, REP
from analytics.content_requests import (
    content_request_create,
    content_request_update,
    content_request_vote,
    open_requests_by_cell,
    request_key,
)
from analytics.models import ContentRequest, ContentRequestVote
from cms.models import BuyerStage, Pillar
from notifications.models import Notification
from tests.factories import make_asset, make_section, make_team, make_user
from tests.search.conftest import active_engine, embedded_engine  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db
Status = ContentRequest.Status


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_near_identical_requests_have_one_key():
    assert request_key("Banks: the SOC 2 report") == request_key("soc 2 report for banks!")
    assert request_key("SOC 2 report") != request_key("SOC 2 summary")


@pytest.mark.parametrize(
    "first, second",
    [
        ("Case studies for healthcare", "healthcare case study"),  # plural
        ("Battlecard against Acme", "batlecard against acme"),  # a typo
        ("ROI calculator for retail banks", "ROI calculator retail banks Europe"),  # one more word
    ],
)
def test_near_identical_asks_from_two_reps_become_one_request_with_a_vote(first, second):
    one, other = make_user(role=REP), make_user(role=REP)
    asked, _ = content_request_create(user=one, text=first)
    again, created = content_request_create(user=other, text=second)
    assert not created and again.pk == asked.pk
    assert list(ContentRequestVote.objects.values_list("user", flat=True)) == [other.pk]


@pytest.mark.parametrize(
    "first, second",
    [
        ("SOC 2 report", "SOC 2 summary"),
        ("Battlecard against Acme", "Battlecard against Globex"),
        ("Pricing sheet", "Onboarding checklist"),
    ],
)
def test_different_asks_stay_separate_requests(first, second):
    rep = make_user(role=REP)
    content_request_create(user=rep, text=first)
    _, created = content_request_create(user=make_user(role=REP), text=second)
    assert created and ContentRequest.objects.count() == 2


def test_the_same_ask_from_another_rep_becomes_a_vote_not_a_duplicate():
    first, second = make_user(role=REP), make_user(role=REP)
    asked, created = content_request_create(user=first, text="SOC 2 report for banks")
    again, created_again = content_request_create(user=second, text="soc 2 report, banks")
    assert created and not created_again and again.pk == asked.pk
    assert ContentRequest.objects.count() == 1
    assert list(ContentRequestVote.objects.values_list("user", flat=True)) == [second.pk]


def test_asking_twice_changes_nothing():
    rep = make_user(role=REP)
    content_request_create(user=rep, text="ROI calculator")
    content_request_create(user=rep, text="ROI calculator")
    assert ContentRequest.objects.count() == 1 and not ContentRequestVote.objects.exists()


def test_a_closed_request_does_not_swallow_a_new_ask():
    rep = make_user(role=REP)
    old, _ = content_request_create(user=rep, text="ROI calculator")
    content_request_update(content_request=old, status=Status.DECLINED, decline_reason="Not now")
    new, created = content_request_create(user=rep, text="ROI calculator")
    assert created and new.pk != old.pk


@pytest.mark.parametrize("text,field", [("   ", "text"), ("x" * 501, "text")])
def test_bad_request_text_names_the_field_and_saves_nothing(text, field):
    with pytest.raises(ValidationError) as error:
        content_request_create(user=make_user(role=REP), text=text)
    assert field in error.value.message_dict
    assert not ContentRequest.objects.exists()


def test_voting_twice_or_on_ones_own_request_counts_once():
    rep, other = make_user(role=REP), make_user(role=REP)
    asked, _ = content_request_create(user=rep, text="Pricing one-pager")
    assert not content_request_vote(user=rep, content_request=asked)
    assert content_request_vote(user=other, content_request=asked)
    assert not content_request_vote(user=other, content_request=asked)
    assert ContentRequestVote.objects.count() == 1


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"status": Status.DECLINED}, "decline_reason"),
        ({"status": Status.DONE}, "fulfilled_by"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_closing_without_an_answer_names_the_field_and_changes_nothing(changes, field):
    rep = make_user(role=REP)
    asked, _ = content_request_create(user=rep, text="Pricing one-pager")
    with pytest.raises(ValidationError) as error:
        content_request_update(content_request=asked, **changes)
    assert field in error.value.message_dict
    assert ContentRequest.objects.get().status == Status.NEW
    assert not Notification.objects.exists()


def test_done_notifies_everyone_who_asked_or_voted_once(django_capture_on_commit_callbacks):
    rep, backer, bystander = make_user(role=REP), make_user(role=REP), make_user(role=REP)
    asked, _ = content_request_create(user=rep, text="Pricing one-pager")
    content_request_vote(user=backer, content_request=asked)
    asset = make_asset("Pricing one-pager")
    with django_capture_on_commit_callbacks(execute=True):
        content_request_update(content_request=asked, status=Status.DONE, fulfilled_by=asset)
        content_request_update(content_request=asked, owner=make_user(role=MARKETER))
    told = Notification.objects.filter(kind="request_done")
    assert sorted(told.values_list("user", flat=True)) == sorted([rep.pk, backer.pk])
    assert all(n.url == asset.url and "Pricing one-pager" in n.text for n in told)
    assert sorted(m.to[0] for m in mail.outbox) == sorted([rep.email, backer.email])
    assert not Notification.objects.filter(user=bystander).exists()


def test_declined_tells_the_askers_why():
    rep = make_user(role=REP)
    asked, _ = content_request_create(user=rep, text="Deck in Klingon")
    content_request_update(
        content_request=asked, status=Status.DECLINED, decline_reason="No Klingon buyers"
    )
    assert "No Klingon buyers" in Notification.objects.get(user=rep).text


def test_an_asker_outside_the_team_is_not_told_the_restricted_assets_title():
    emea = make_team("EMEA")
    insider, outsider = make_user(role=REP, teams=[emea]), make_user(role=REP)
    asked, _ = content_request_create(user=insider, text="EMEA pricing")
    content_request_vote(user=outsider, content_request=asked)
    secret = make_asset("EMEA price list 2027", parent=make_section("EMEA", teams=[emea]))
    content_request_update(content_request=asked, status=Status.DONE, fulfilled_by=secret)
    assert "EMEA price list 2027" in Notification.objects.get(user=insider).text
    theirs = Notification.objects.get(user=outsider)
    assert "EMEA price list 2027" not in theirs.text and secret.url not in theirs.url
    page = _client(outsider).get("/analytics/requests/").content.decode()
    assert "EMEA price list 2027" not in page and "content for other teams" in page


def test_a_rep_sees_only_their_own_private_notes_and_no_requesters_names():
    asker, other = make_user("asker", role=REP), make_user(role=REP)
    content_request_create(
        user=asker, text="Acme migration guide", private_note="Deal 006X, CFO wants it Friday"
    )
    theirs = _client(other).get("/analytics/requests/").content.decode()
    assert "Acme migration guide" in theirs
    assert "CFO wants it Friday" not in theirs and "asker" not in theirs
    mine = _client(asker).get("/analytics/requests/").content.decode()
    assert "CFO wants it Friday" in mine


def test_a_rep_asks_and_backs_from_the_requests_page():
    rep, other = make_user(role=REP), make_user(role=REP)
    response = _client(rep).post(
        "/analytics/requests/", {"text": "<b>Case study</b> in retail", "source": "search_gap"}
    )
    assert response.status_code == 302
    asked = ContentRequest.objects.get()
    assert asked.source == "search_gap" and asked.requested_by == rep
    page = _client(other).get("/analytics/requests/").content.decode()
    assert "&lt;b&gt;Case study&lt;/b&gt;" in page and "<b>Case study" not in page
    _client(other).post(f"/analytics/requests/{asked.pk}/vote/")
    _client(other).post(f"/analytics/requests/{asked.pk}/vote/")
    assert ContentRequestVote.objects.filter(user=other).count() == 1


def _vote_message(client, request_id) -> str:
    response = client.post(f"/analytics/requests/{request_id}/vote/", follow=True)
    assert response.status_code == 200
    return " ".join(str(m) for m in response.context["messages"])


def test_backing_another_reps_closed_request_quotes_nothing_and_reads_like_a_wrong_id():
    asker, other = make_user(role=REP), make_user(role=REP)
    asked, _ = content_request_create(
        user=asker, text="Singapore bank deal confidential pricing exception"
    )
    content_request_update(content_request=asked, status=Status.DECLINED, decline_reason="No")
    refused = _vote_message(_client(other), asked.pk)
    assert "Singapore" not in refused
    assert refused == _vote_message(_client(other), asked.pk + 1000)  # no such request
    assert not ContentRequestVote.objects.exists()
    assert "Singapore bank deal" in _vote_message(_client(asker), asked.pk)  # their own


def test_backing_a_closed_request_one_backed_still_names_it():
    asker, backer = make_user(role=REP), make_user(role=REP)
    asked, _ = content_request_create(user=asker, text="Retail case study")
    content_request_vote(user=backer, content_request=asked)
    content_request_update(content_request=asked, status=Status.DECLINED, decline_reason="No")
    assert "“Retail case study” is closed" in _vote_message(_client(backer), asked.pk)


def test_an_empty_request_from_the_page_names_the_field():
    response = _client(make_user(role=REP)).post("/analytics/requests/", {"text": ""})
    assert response.status_code == 400 and "This field is required" in response.content.decode()
    assert not ContentRequest.objects.exists()


def test_a_search_that_found_nothing_offers_to_ask_marketing(active_engine):  # noqa: F811
    page = _client(make_user(role=REP)).get("/search/", {"q": "zebra pricing"})
    body = page.content.decode()
    assert "Ask marketing for “zebra pricing”" in body
    assert "/analytics/requests/?q=zebra+pricing&amp;source=search_gap" in body


@pytest.mark.parametrize("text", ["((((", "%", "🚚"])
def test_text_with_no_searchable_word_offers_no_request(active_engine, text):  # noqa: F811
    client = _client(make_user(role=REP))
    body = client.get("/search/", {"q": text}).content.decode()
    assert "No searchable words" in body
    assert "Ask marketing" not in body and "source=search_gap" not in body
    answer = client.get("/api/v1/search", {"q": text}).json()
    assert answer["offers"] == [] and answer["reason"].startswith("no searchable words")


def test_marketing_works_the_backlog_in_the_admin(django_capture_on_commit_callbacks):
    rep, marketer = make_user(role=REP), make_user(role=MARKETER)
    asked, _ = content_request_create(user=rep, text="Healthcare case study")
    client = _client(marketer)
    listing = client.get("/admin/analytics/requests/")
    assert listing.status_code == 200 and "Healthcare case study" in listing.content.decode()
    asset = make_asset("Healthcare case study")
    stage, pillar = BuyerStage.objects.first(), Pillar.objects.first()
    form = {
        "text": asked.text,
        "private_note": "",
        "status": "done",
        "owner": marketer.pk,
        "stage": stage.pk,
        "pillar": pillar.pk,
        "fulfilled_by": asset.pk,
        "decline_reason": "",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/analytics/requests/edit/{asked.pk}/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    asked.refresh_from_db()
    assert asked.status == Status.DONE and asked.fulfilled_by == asset
    assert Notification.objects.filter(user=rep, kind="request_done").count() == 1


def test_declining_in_the_admin_without_a_reason_is_refused():
    rep, marketer = make_user(role=REP), make_user(role=MARKETER)
    asked, _ = content_request_create(user=rep, text="Healthcare case study")
    response = _client(marketer).post(
        f"/admin/analytics/requests/edit/{asked.pk}/",
        {"text": asked.text, "status": "declined", "decline_reason": ""},
    )
    assert response.status_code == 200 and "Say why it is declined" in response.content.decode()
    assert ContentRequest.objects.get().status == Status.NEW


def test_the_backlog_csv_neutralises_formulas():
    content_request_create(user=make_user(role=REP), text='=HYPERLINK("http://x")')
    response = _client(make_user(role=MARKETER)).get("/admin/analytics/requests/?export=csv")
    body = b"".join(response.streaming_content if response.streaming else [response.content])
    assert response.status_code == 200
    assert "'=HYPERLINK" in body.decode() and ",=HYPERLINK" not in body.decode()


def test_reps_cannot_open_the_backlog():
    response = _client(make_user(role=REP)).get("/admin/analytics/requests/")
    assert response.status_code in (302, 403) and "Healthcare" not in response.content.decode()


def test_open_requests_are_counted_per_cell():
    rep = make_user(role=REP)
    stage, pillar = BuyerStage.objects.first(), Pillar.objects.first()
    for text in ("one", "two", "three"):
        asked, _ = content_request_create(user=rep, text=text)
        content_request_update(content_request=asked, stage=stage, pillar=pillar)
    content_request_update(
        content_request=asked, status=Status.DECLINED, decline_reason="Duplicate"
    )
    assert open_requests_by_cell() == {(stage.pk, pillar.pk): 2}
    marketer = _client(make_user(role=MARKETER))
    html = marketer.get("/admin/governance/coverage/").content.decode()
    assert "2 open requests" in html
    export = marketer.get("/admin/governance/coverage/?export=csv")
    rows = list(csv.reader(b"".join(export.streaming_content).decode("utf-8-sig").splitlines()))
    assert rows[0][-1] == "notes"
    assert [stage.name, pillar.name, "0", "2 open requests"] in rows


def test_only_marketing_can_own_a_request():
    """The owner picker listed every user, reps included (an outside audit)."""
    rep, marketer = make_user("rico", role=REP), make_user("maya", role=MARKETER)
    lead = make_user("lena", role=ENABLEMENT_LEAD)
    marketer.groups.add(*lead.groups.all())  # in two groups: still listed once
    make_user("gone", role=MARKETER, is_active=False)
    asked, _ = content_request_create(user=rep, text="Healthcare case study")
    client = _client(marketer)
    page = client.get(f"/admin/analytics/requests/edit/{asked.pk}/").content.decode()
    picker = page[page.index('name="owner"') :].split("</select>")[0]
    assert "maya" in picker and "lena" in picker
    assert "rico" not in picker and "gone" not in picker
    assert picker.count("maya") == 1  # once, whatever groups she is in
    form = {"text": asked.text, "private_note": "", "status": "new", "owner": rep.pk}
    response = client.post(f"/admin/analytics/requests/edit/{asked.pk}/", form)
    assert response.status_code == 200  # refused: the form says so
    assert ContentRequest.objects.get().owner is None


def _answer_form(asked, asset, **extra) -> dict:
    """The admin's edit form of ``asked``, marked done with ``asset``."""
    form = {
        "text": asked.text,
        "private_note": "",
        "status": "done",
        "owner": "",
        "stage": "",
        "pillar": "",
        "fulfilled_by": asset.pk,
        "decline_reason": "",
    }
    return {**form, **extra}


def _unpublished(title: str):
    asset = make_asset(title)
    asset.unpublish()
    return asset


@pytest.mark.parametrize(
    "not_live",
    [
        lambda: make_asset("Healthcare case study (draft)", publish=False),
        lambda: _unpublished("Healthcare case study (withdrawn)"),
    ],
    ids=["draft", "unpublished"],
)
def test_only_a_live_asset_fulfils_a_request_in_the_admin(not_live):
    """An outside audit: a rejected draft was accepted as the answer, and the rep was told it
    was "content for other teams" though they are in no excluded team."""
    rep, marketer = make_user(role=REP), make_user(role=MARKETER)
    asked, _ = content_request_create(user=rep, text="Healthcare case study")
    asset = not_live()
    response = _client(marketer).post(
        f"/admin/analytics/requests/edit/{asked.pk}/", _answer_form(asked, asset)
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert f"“{asset.title}” is not live" in body and "reps cannot open it" in body
    asked.refresh_from_db()
    assert (asked.status, asked.fulfilled_by) == (Status.NEW, None)
    assert not Notification.objects.exclude(kind="request_new").exists()  # the rep heard nothing


def test_another_answer_for_a_done_request_tells_the_rep_once(django_capture_on_commit_callbacks):
    rep, marketer = make_user(role=REP), make_user(role=MARKETER)
    asked, _ = content_request_create(user=rep, text="Healthcare case study")
    first, better = make_asset("Hospital case study"), make_asset("Healthcare case study 2027")
    client = _client(marketer)
    edit = f"/admin/analytics/requests/edit/{asked.pk}/"
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(edit, _answer_form(asked, first)).status_code == 302
        assert client.post(edit, _answer_form(asked, first, private_note="x")).status_code == 302
        assert client.post(edit, _answer_form(asked, better)).status_code == 302
        assert client.post(edit, _answer_form(asked, better)).status_code == 302
    told = Notification.objects.filter(user=rep, kind="request_done").order_by("pk")
    said = "Your request “Healthcare case study” is answered: "
    assert [(n.text, n.url) for n in told] == [
        (said + "Hospital case study", first.url),
        (said + "Healthcare case study 2027", better.url),
    ]
    assert [m.subject for m in mail.outbox][-1].endswith("Healthcare case study 2027")
    assert len(mail.outbox) == 2
    rep_page = _client(rep).get("/analytics/requests/").content.decode()
    assert "Healthcare case study 2027" in rep_page


def test_a_done_request_whose_asset_went_away_can_still_be_edited():
    """The live check is on the answer being given: a request answered by an asset since
    withdrawn keeps its other fields editable."""
    rep, marketer = make_user(role=REP), make_user(role=MARKETER)
    asked, _ = content_request_create(user=rep, text="Healthcare case study")
    asset = make_asset("Hospital case study")
    content_request_update(content_request=asked, status=Status.DONE, fulfilled_by=asset)
    asset.unpublish()
    response = _client(marketer).post(
        f"/admin/analytics/requests/edit/{asked.pk}/",
        _answer_form(asked, asset, private_note="Asked again by Acme"),
    )
    assert response.status_code == 302
    assert ContentRequest.objects.get().private_note == "Asked again by Acme"
    assert Notification.objects.filter(user=rep).count() == 1


def test_done_after_declined_tells_the_askers_the_answer():
    rep = make_user(role=REP)
    asked, _ = content_request_create(user=rep, text="Deck in Klingon")
    content_request_update(content_request=asked, status=Status.DECLINED, decline_reason="None")
    asset = make_asset("Klingon deck")
    content_request_update(content_request=asked, status=Status.DONE, fulfilled_by=asset)
    told = Notification.objects.filter(user=rep).order_by("pk")
    texts = list(told.values_list("text", flat=True))
    assert texts[-1] == "Your request “Deck in Klingon” is answered: Klingon deck"
    assert len(texts) == 2


def test_a_reps_page_says_when_the_answer_left_the_library_not_other_teams():
    rep = make_user(role=REP)
    asked, _ = content_request_create(user=rep, text="Healthcare case study")
    asset = make_asset("Hospital case study")
    content_request_update(content_request=asked, status=Status.DONE, fulfilled_by=asset)
    asset.unpublish()
    page = _client(rep).get("/analytics/requests/").content.decode()
    assert "Answered with content that is no longer in the library" in page
    assert "content for other teams" not in page and "Hospital case study" not in page


def test_marketers_hear_of_a_new_request_and_not_of_each_vote(django_capture_on_commit_callbacks):
    marketer, other_marketer = make_user(role=MARKETER), make_user(role=MARKETER)
    lead, rep, backer = make_user(role=ENABLEMENT_LEAD), make_user(role=REP), make_user(role=REP)
    with django_capture_on_commit_callbacks(execute=True):
        asked, _ = content_request_create(user=rep, text="SOC 2 summary for banks")
        content_request_vote(user=backer, content_request=asked)
        content_request_create(user=backer, text="soc 2 summary for banks")  # the same ask
    told = Notification.objects.filter(kind="request_new")
    assert sorted(told.values_list("user", flat=True)) == sorted([marketer.pk, other_marketer.pk])
    assert all("SOC 2 summary for banks" in n.text for n in told)
    assert sorted(m.to[0] for m in mail.outbox) == sorted([marketer.email, other_marketer.email])
    assert not Notification.objects.filter(user__in=[lead, rep, backer]).exists()
    backlog_entry = _client(marketer).get(told.first().url)
    assert backlog_entry.status_code == 200
    assert "SOC 2 summary for banks" in backlog_entry.content.decode()


def test_a_marketer_is_not_told_of_their_own_request():
    marketer, colleague = make_user(role=MARKETER), make_user(role=MARKETER)
    content_request_create(user=marketer, text="Battlecard for Hooli")
    assert list(Notification.objects.values_list("user", flat=True)) == [colleague.pk]


# --- A rep's cap on new requests (each one mails every marketer) ------------------------------


EARLIER_ASKS = ("Battlecard for Hooli", "ROI calculator", "Security whitepaper", "Partner deck")


def _asked_before(user, count: int) -> list[ContentRequest]:
    """``count`` new requests ``user`` opens now, unlike one another and the asks below."""
    made = [content_request_create(user=user, text=text) for text in EARLIER_ASKS[:count]]
    assert all(created for _, created in made)
    return [asked for asked, _ in made]


def _refused_page(response) -> str:
    body = response.content.decode()
    assert response.status_code == 400
    assert "You have opened 3 new requests in the last 24 hours" in body
    assert "still works" in body
    return body


def test_a_rep_past_the_cap_is_refused_with_when_and_nothing_is_saved_or_mailed(
    settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.CONTENT_REQUESTS_PER_DAY = 3
    marketer, rep = make_user(role=MARKETER), make_user(role=REP)
    _asked_before(rep, 3)
    oldest = ContentRequest.objects.filter(requested_by=rep).earliest("created_at")
    mailoutbox.clear()
    Notification.objects.all().delete()
    free_at = timezone.localtime(oldest.created_at + timedelta(hours=24, minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(ValidationError) as refused:
            content_request_create(user=rep, text="Zebra pricing sheet")
        response = _client(rep).post(
            "/analytics/requests/", {"text": "Zebra pricing sheet", "source": "request"}
        )
    message = " ".join(refused.value.messages)
    assert "You have opened 3 new requests" in message
    assert date_format(free_at, "j M Y H:i") in message
    body = _refused_page(response)
    assert date_format(free_at, "j M Y H:i") in body
    assert 'value="Zebra pricing sheet"' in body  # what they typed is kept
    assert not ContentRequest.objects.filter(text="Zebra pricing sheet").exists()
    assert not Notification.objects.filter(user=marketer).exists() and not mailoutbox


def test_asking_from_a_search_that_found_nothing_is_capped_the_same_way(settings):
    settings.CONTENT_REQUESTS_PER_DAY = 3
    rep = make_user(role=REP)
    _asked_before(rep, 3)
    response = _client(rep).post(
        "/analytics/requests/", {"text": "zebra pricing", "source": "search_gap"}
    )
    _refused_page(response)
    assert ContentRequest.objects.count() == 3


def test_a_rep_at_the_cap_still_backs_an_open_request(settings):
    settings.CONTENT_REQUESTS_PER_DAY = 3
    rep, other = make_user(role=REP), make_user(role=REP)
    asked, _ = content_request_create(user=other, text="SOC 2 summary for banks")
    _asked_before(rep, 3)
    again, created = content_request_create(user=rep, text="soc 2 summary for banks")
    assert again == asked and not created
    assert ContentRequestVote.objects.filter(request=asked, user=rep).exists()
    backed, _ = content_request_create(user=make_user(role=REP), text="Partner deck")
    assert "You back" in _vote_message(_client(rep), backed.pk)


def test_a_rep_asks_again_once_the_oldest_request_leaves_the_window(settings):
    settings.CONTENT_REQUESTS_PER_DAY = 3
    rep = make_user(role=REP)
    _asked_before(rep, 3)
    with pytest.raises(ValidationError):
        content_request_create(user=rep, text="Zebra pricing sheet")
    oldest = ContentRequest.objects.filter(requested_by=rep).earliest("created_at")
    ContentRequest.objects.filter(pk=oldest.pk).update(
        created_at=timezone.now() - timedelta(hours=24, seconds=1)
    )
    asked, created = content_request_create(user=rep, text="Zebra pricing sheet")
    assert created and asked.requested_by == rep
    with pytest.raises(ValidationError):  # three in the window again
        content_request_create(user=rep, text="Healthcare case study")


def test_a_closed_request_still_counts_against_the_cap(settings):
    settings.CONTENT_REQUESTS_PER_DAY = 3
    rep = make_user(role=REP)
    _asked_before(rep, 3)
    for asked in ContentRequest.objects.all():
        content_request_update(content_request=asked, status=Status.DECLINED, decline_reason="No")
    with pytest.raises(ValidationError):
        content_request_create(user=rep, text="Zebra pricing sheet")


@pytest.mark.parametrize("role", [MARKETER, ENABLEMENT_LEAD])
def test_marketing_and_leads_are_not_capped(settings, role):
    settings.CONTENT_REQUESTS_PER_DAY = 3
    user = make_user(role=role)
    _asked_before(user, 3)
    _, created = content_request_create(user=user, text="Zebra pricing sheet")
    assert created
    response = _client(user).post("/analytics/requests/", {"text": "Healthcare case study"})
    assert response.status_code == 302


def test_a_lead_turns_search_gaps_into_requests_past_a_reps_cap(settings):
    settings.CONTENT_REQUESTS_PER_DAY = 3
    lead = make_user(role=ENABLEMENT_LEAD)
    _asked_before(lead, 3)
    response = _client(lead).post("/analytics/search-gaps/", {"query": "zebra pricing"})
    assert response.status_code == 302
    assert ContentRequest.objects.filter(text="zebra pricing", source="search_gap").exists()
