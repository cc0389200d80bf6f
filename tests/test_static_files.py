"""What ``collectstatic`` gathers: the API docs' own Swagger UI, and not django-ninja's unused
Redoc bundle, whose source map names third-party hosts."""

from __future__ import annotations

from django.core.management import call_command


def test_collectstatic_gathers_swagger_ui_and_leaves_redoc_out(tmp_path, settings):
    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", interactive=False, verbosity=0)
    collected = {path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*")}
    assert "ninja/swagger-ui-bundle.js" in collected
    assert "enablement/app.css" in collected
    assert not [name for name in collected if "redoc" in name], collected
