"""The test settings plus one more taxonomy facet, "region" (``tests.extra_facet``): what
adding a facet takes is this one entry, a term model and its migration. Read before Django
is set up, so everything derived from ``cms.taxonomy`` sees the facet."""

import cms.taxonomy
from cms.taxonomy import Facet
from tests.settings import *  # noqa: F403

cms.taxonomy.FACETS += (
    Facet(
        "region",
        "Region",
        "extra_facet.Region",
        "regions",
        display_order=8,
        deal_boost=9.0,
        reason="{label} region",
        card_position=4,
        listing_form=True,
        icon="globe",
    ),
)

INSTALLED_APPS = [*INSTALLED_APPS, "tests.extra_facet"]  # noqa: F405
# Its own test database, so that it can run while the main suite holds its own.
if not DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_facet"}  # noqa: F405
