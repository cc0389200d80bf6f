"""The web server's process: what enablement.wsgi does once it has loaded the app."""

from tests.test_busy_database import _sqlite_process


def test_loaded_app_is_out_of_the_collectors_way(tmp_path):
    """A full garbage collection in a web worker walks what requests left behind, not the
    loaded app (measured: 100-130 ms per collection, every few seconds under ingestion, when
    it walked all of it). Loading enablement.wsgi freezes the app, URLconf included."""
    code = (
        "import gc\n"
        "from django.urls import reverse\n"
        "reverse('search:search')\n"  # what the first request loads
        "print(gc.get_freeze_count(), len(gc.get_objects()))\n"
    )
    frozen, walked = map(int, _sqlite_process(tmp_path, code, web=True)[-1].split())
    assert frozen > 50_000, (frozen, walked)
    assert walked < frozen // 20, (frozen, walked)
