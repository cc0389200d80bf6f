"""Browser fixtures: Playwright driving Debian's Chromium (never a downloaded browser).

Every test here is marked ``e2e``. Without Chromium the tests skip with a reason on a user's
machine; in CI (CI=true) that skip fails the run.
"""

from __future__ import annotations

import io
import os
import shutil

import pytest

from accounts.roles import ENABLEMENT_LEAD, REP
from demo.deals import seed_analytics
from search.engines import use_engine
from search.engines.embedded import EmbeddedEngine
from tests.factories import make_asset, make_user

CHROMIUM_PATHS = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


def _chromium_path() -> str | None:
    for path in CHROMIUM_PATHS:
        if os.path.exists(path):
            return path
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def chromium():
    path = _chromium_path()
    if path is None:
        pytest.skip("Debian's Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    """A fresh desktop-sized browser context pointed at the live server."""
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def phone_page(chromium, live_server):
    """A phone-sized context (390x844, touch) pointed at the live server."""
    context = chromium.new_context(
        base_url=live_server.url,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def login(page, username: str, password: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


@pytest.fixture
def library(tmp_path):
    """Three assets for the search tests, indexed through the real publish signals
    (transactions commit in browser tests), and the rep who searches them."""
    with use_engine(EmbeddedEngine(path=tmp_path / "index")):
        make_user("rep", role=REP)
        make_asset(
            "Acme battlecard",
            asset_type="battlecard",
            stages=("decide",),
            summary="Answers to pricing objections against Acme.",
        )
        make_asset(
            "Battlecard basics",
            asset_type="deck",
            stages=("discover",),
            summary="How reps use a battlecard on calls.",
        )
        make_asset("Roadmap briefing", asset_type="deck", summary="Where we go next.")
        yield


# The dashboard browser tests' library: eight assets over the first three stages.
DASHBOARD_LIBRARY = [
    ("Discovery deck", ("discover",)),
    ("Pain calculator", ("discover",)),
    ("Evaluation guide", ("evaluate",)),
    ("Security FAQ", ("evaluate",)),
    ("Customer story", ("evaluate",)),
    ("Pricing sheet", ("decide",)),
    ("Mutual plan", ("decide",)),
    ("ROI model", ("decide",)),
]


@pytest.fixture
def dashboard_data():
    """The lead "lena", the demo's rep, ``DASHBOARD_LIBRARY`` and the demo's deals and usage
    on it; returns what the demo seeded (``demo.deals.seed_analytics``)."""
    make_user("lena", role=ENABLEMENT_LEAD)
    make_user("demo-rep", role=REP)
    for title, stages in DASHBOARD_LIBRARY:
        make_asset(title, stages=stages)
    return seed_analytics(stdout=io.StringIO())
