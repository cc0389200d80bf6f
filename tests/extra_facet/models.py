from django.db import models

from cms.models import Taxonomy


class Region(Taxonomy):
    """Where an asset applies. The relation is declared on the term, so the product's own
    AssetPage is untouched (a project's own facet would add a field to AssetPage instead)."""

    assets = models.ManyToManyField("cms.AssetPage", blank=True, related_name="regions")
