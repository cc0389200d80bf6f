"""A facet the product does not have ("region"), added the way a project would add one: one
entry in ``cms.taxonomy.FACETS`` (``tests/settings_extra_facet.py``), a term model tagging
assets, and its migration. ``check_region_facet.py`` runs under those settings
(``tests/search/test_adding_a_facet.py`` starts it)."""
