"""A filtered asset-table CSV says it is filtered, in its file name and in every row (audit 46,
F5: `assets.csv?window=all&segment=SMB` and the whole table were both
`asset-effectiveness-all.csv`, with nothing inside to tell them apart)."""

import csv
import io
import re

import pytest
from django.test import Client

from accounts.roles import ENABLEMENT_LEAD
from tests.analytics.helpers import refresh, walk_deal
from tests.factories import make_asset, make_user

pytestmark = pytest.mark.django_db

SAFE_NAME = re.compile(r'^attachment; filename="[a-z0-9-]+\.csv"$')


@pytest.fixture
def client():
    make_asset("Pricing deck", stages=("decide",), pillars=("why-buy-now",))
    make_asset("=cmd deck", stages=("decide",), pillars=("why-buy-now",))
    walk_deal("S1", ["discover", "won"], segment="SMB", industry="Retail")
    walk_deal("S2", ["discover", "lost"], segment="=Evil Seg", industry="日本")
    refresh()
    lead = Client()
    lead.force_login(make_user(role=ENABLEMENT_LEAD))
    return lead


def _download(client, params: dict) -> tuple[str, list[dict]]:
    response = client.get("/analytics/assets.csv", params)
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert SAFE_NAME.match(disposition), disposition
    header, *rows = csv.reader(io.StringIO(response.content.decode("utf-8-sig")))
    name = disposition.split('"')[1]
    return name, [dict(zip(header, row, strict=True)) for row in rows]


def test_the_whole_table_keeps_its_name_and_says_no_filter(client):
    name, rows = _download(client, {"window": "all"})
    assert name == "asset-effectiveness-all.csv"
    assert rows and {row["filters"] for row in rows} == {"none"}


def test_a_segment_view_is_named_after_its_segment_and_says_so_in_every_row(client):
    name, rows = _download(client, {"window": "all", "segment": "smb"})
    assert name == "asset-effectiveness-all-segment-smb.csv"
    assert rows and {row["filters"] for row in rows} == {"segment: SMB"}


def test_every_filter_is_named_in_order_with_only_safe_characters_in_the_file_name(client):
    name, rows = _download(
        client,
        {
            "window": "365d",
            "segment": "=evil seg",
            "industry": "Retail",
            "stage": "Decide",
            "pillar": "why-buy-now",
            "q": "=cmd",
            "sort": "title",
        },
    )
    assert name == (
        "asset-effectiveness-365d-segment-evil-seg-industry-retail-stage-decide"
        "-pillar-why-buy-now-title-cmd.csv"
    )
    assert [row["title"] for row in rows] == ["'=cmd deck"]
    assert rows[0]["filters"] == (
        "segment: =Evil Seg; industry: Retail; stage: decide; pillar: why-buy-now; title: =cmd"
    )


def test_a_value_without_ascii_letters_is_named_by_a_digest_and_given_in_full_inside(client):
    name, rows = _download(client, {"window": "all", "industry": "日本"})
    assert re.fullmatch(r"asset-effectiveness-all-industry-[0-9a-f]{8}\.csv", name), name
    other, _ = _download(client, {"window": "all", "industry": "Retail"})
    assert other == "asset-effectiveness-all-industry-retail.csv"
    assert {row["filters"] for row in rows} == {"industry: 日本"}
