"""The admin names the library, not its address: Wagtail's home said "Welcome to the
127.0.0.1 Wagtail CMS" (the default site had no name, so its host stood in)."""

import pytest
from django.test import Client, override_settings
from wagtail.models import Site

from accounts.roles import MARKETER
from cms.services import site_name_ensure
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@override_settings(WAGTAIL_SITE_NAME="Acme Enablement")
def test_the_default_site_takes_the_configured_name_and_the_admin_home_shows_it():
    Site.objects.filter(is_default_site=True).update(site_name="", hostname="127.0.0.1")
    assert site_name_ensure() is True
    assert site_name_ensure() is False  # named already: nothing written
    client = Client()
    client.force_login(make_user(role=MARKETER))
    home = client.get("/admin/").content.decode()
    assert "Acme Enablement" in home
    assert "Welcome to the 127.0.0.1" not in home


def test_a_name_an_admin_gave_the_site_stays():
    Site.objects.filter(is_default_site=True).update(site_name="Our library")
    assert site_name_ensure() is False
    assert Site.objects.get(is_default_site=True).site_name == "Our library"
