"""Fixtures shared by the cms tests."""

import pytest
from wagtail.images import get_image_model


@pytest.fixture
def no_renditions_cached():
    """Wagtail caches renditions by image id, and the ids of a rolled-back test are used
    again (SQLite): each test starts, and leaves the next one, with none cached."""
    renditions = get_image_model().get_rendition_model().cache_backend
    renditions.clear()
    yield
    renditions.clear()
