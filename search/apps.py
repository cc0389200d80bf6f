from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"
    label = "library_search"
    verbose_name = "Rep search"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Connect the index updates: publish, unpublish, move, delete, restriction changes
        on assets and sections, processed files; taxonomy edits to the label cache and
        synonym edits to the synonym cache."""
        from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save
        from wagtail.signals import page_published, page_unpublished, post_page_move

        from cms import signals as cms_signals
        from cms.models import AssetPage, LibraryPage
        from cms.taxonomy import facets
        from search import signals
        from search.models import SearchSynonyms
        from search.selectors import synonym_sets_clear, taxonomy_labels_clear

        uid = "library_search"
        for model in (AssetPage, LibraryPage):
            page_published.connect(signals.page_changed, sender=model, dispatch_uid=f"{uid}-p")
            page_unpublished.connect(signals.page_changed, sender=model, dispatch_uid=f"{uid}-u")
            post_page_move.connect(signals.page_changed, sender=model, dispatch_uid=f"{uid}-m")
            m2m_changed.connect(
                signals.restrictions_changed,
                sender=model.restricted_teams.through,
                dispatch_uid=f"{uid}-r",
            )
        post_delete.connect(signals.asset_deleted, sender=AssetPage, dispatch_uid=f"{uid}-d")
        processed = getattr(cms_signals, "document_processed", None)
        if processed is not None:
            processed.connect(signals.document_processed, dispatch_uid=f"{uid}-doc")
        for item in facets():
            model = item.term_model
            post_save.connect(taxonomy_labels_clear, sender=model, dispatch_uid=f"{uid}-t")
            post_delete.connect(taxonomy_labels_clear, sender=model, dispatch_uid=f"{uid}-td")
        post_save.connect(synonym_sets_clear, sender=SearchSynonyms, dispatch_uid=f"{uid}-s")
        post_migrate.connect(signals.roles_after_migrate, sender=self, dispatch_uid=f"{uid}-roles")
