"""The web server's process: what enablement.wsgi does once it has loaded the app."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_loaded_app_is_out_of_the_collectors_way(tmp_path):
    """A full garbage collection in a web worker walks what requests left behind, not the
    loaded app (measured: 100-130 ms per collection, every few seconds under ingestion, when
    it walked all of it). Loading enablement.wsgi freezes the app, URLconf included."""
    code = (
        "import gc, sys\n"
        "import enablement.wsgi\n"
        "from django.urls import reverse\n"
        "reverse('search:search')\n"  # what the first request loads
        "print(gc.get_freeze_count(), len(gc.get_objects()))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SEARCH_URL"}}
    env.update({"DJANGO_SETTINGS_MODULE": "enablement.settings", "DATA_DIR": str(tmp_path)})
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    frozen, walked = map(int, result.stdout.split())
    assert frozen > 50_000, result.stdout
    assert walked < frozen // 20, result.stdout
