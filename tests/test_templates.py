"""Django templates hold only Django's syntax: a Jinja2-style comment or whitespace control
(``{#-``, ``{%-``), or a ``{# #}`` comment spread over lines, is not Django's and is sent to
the browser as text (a search page showed its own comment to reps)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JINJA_ONLY = re.compile(r"\{[#%]-|-[#%]\}")


def _django_templates() -> list[Path]:
    found = []
    for folder in [ROOT / "templates", *ROOT.glob("*/templates")]:  # the site's, each app's
        found += [path for path in folder.rglob("*.html") if "jinja2" not in path.parts]
    return found


def test_django_templates_use_only_djangos_comment_and_tag_syntax():
    templates = _django_templates()
    assert len(templates) > 50  # the project's own templates were found
    wrong = []
    for path in templates:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            unclosed_comment = "{#" in line and "#}" not in line.split("{#", 1)[1]
            if JINJA_ONLY.search(line) or unclosed_comment:
                wrong.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:60]}")
    assert not wrong, "\n".join(wrong)
