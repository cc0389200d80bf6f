"""Wagtail's admin without inline script, so the Content-Security-Policy can forbid it.

Wagtail starts some admin widgets with an inline ``<script>``: the choosers (document, image,
page, snippet, task) from Python, the date and time pickers and inline panels from templates.
Here and in ``templates/wagtailadmin/`` each such script becomes a hidden marker
``<span data-csp-init="call" data-function="DocumentChooser" data-new data-args="[...]">``,
and ``cms/static/cms/admin_csp.js`` (loaded on every admin page) makes the same
call. Only a plain call of a global function with JSON arguments is converted; anything else
is left as it was (the policy would then block it, and the browser test would notice).
"""

from __future__ import annotations

import json
import re

from django.utils.html import format_html
from django.utils.safestring import mark_safe

_CALL = re.compile(r"^\s*(new\s+)?([A-Za-z_][A-Za-z0-9_]*)\((.*)\);?\s*$", re.S)


def call_marker(js: str) -> str | None:
    """The marker for ``js`` when it is ``[new ]Name(json, ...);``, else None."""
    match = _CALL.match(js)
    if not match:
        return None
    try:
        args = json.loads(f"[{match.group(3)}]")
    except ValueError:
        return None
    return format_html(
        '<span hidden data-csp-init="call" data-function="{}"{} data-args="{}"></span>',
        match.group(2),
        mark_safe(" data-new") if match.group(1) else "",  # noqa: S308 - a constant
        json.dumps(args),
    )


def admin_widgets_without_inline_script() -> None:
    """Render Wagtail's chooser widgets with a marker instead of their inline script."""
    from wagtail.admin.widgets.chooser import BaseChooser

    if getattr(BaseChooser.render, "without_inline_script", False):
        return
    original = BaseChooser.render

    def render(self, name, value, attrs=None, renderer=None):
        try:
            id_ = attrs["id"]
        except (KeyError, TypeError):
            return original(self, name, value, attrs, renderer)
        value_data = self.get_value_data(value)
        marker = call_marker(self.render_js_init(id_, name, value_data))
        if marker is None:
            return original(self, name, value, attrs, renderer)
        return mark_safe(self.render_html(name, value_data, attrs) + marker)  # noqa: S308

    render.without_inline_script = True
    BaseChooser.render = render
