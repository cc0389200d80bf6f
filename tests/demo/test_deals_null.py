"""The demo's "using content" headline comes from its known truth, not from how the demo is
drawn: with the effective assets' boost set to zero (no asset matters), the same demo (its
confounded assets, its deals worked without the library) shows no clear effect."""

import io

import pytest

from accounts.roles import REP
from analytics import selectors
from demo import deals
from tests.demo.test_deals import LIBRARY
from tests.factories import make_asset, make_user

pytestmark = pytest.mark.django_db


def test_with_no_asset_mattering_the_content_headline_claims_nothing(monkeypatch):
    monkeypatch.setattr(deals, "BOOST", 0.0)
    make_user("demo-rep", role=REP)
    for title, stages in LIBRARY:
        make_asset(title, stages=stages)
    deals.seed_analytics(stdout=io.StringIO())
    content = selectors.snapshot("overview", "all")["content"]
    assert content["effect_ci_low"] < 0 < content["effect_ci_high"]
    assert abs(content["effect"]) < 0.02
    assert content["verdict"] == "no clear effect"
