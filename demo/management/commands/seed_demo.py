"""``manage.py seed_demo``: load the demo library (``demo.library``), then the demo deals and
usage (``demo.deals``), and print the demo logins. The demo app is not installed when
``PRODUCTION=true``, so there this command does not exist."""

from __future__ import annotations

import contextlib
import io
import logging
import time

from django.core.management.base import BaseCommand, OutputWrapper

from accounts.roles import ADMIN
from demo.catalogue import DEMO_USERS, TEAMS
from demo.deals import seed_analytics
from demo.library import EMPTY_CELLS, demo_seed, search_hint

# Loggers that narrate every page save and task run; below verbosity 2 they would bury the
# progress lines, so they are held at WARNING while the seed runs.
CHATTY_LOGGERS = ("wagtail", "django_tasks", "modelsearch")


class Command(BaseCommand):
    help = (
        "Create the demo library of Tidewater Data: taxonomy, one user per role, sections, "
        "84 assets with generated PDF, PPTX and DOCX files, and demo analytics. Safe to run "
        "again: it only adds what is missing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--quiet", action="store_true", help="Print nothing unless something fails."
        )

    def handle(self, *args, quiet=False, verbosity=1, **options):
        quiet = quiet or verbosity == 0
        out = OutputWrapper(io.StringIO()) if quiet else self.stdout
        started = time.monotonic()

        def progress(message: str) -> None:
            out.write(message)
            out.flush()

        with _loggers_at_warning(CHATTY_LOGGERS if verbosity < 2 else ()):
            result = demo_seed(progress=progress)
        library_seconds = time.monotonic() - started
        if result.changed:
            made = ", ".join(f"{kind} {count}" for kind, count in sorted(result.created.items()))
            out.write(self.style.SUCCESS(f"Demo library ready. Created: {made}."))
        else:
            out.write(f"Demo library already complete ({result.assets} assets): nothing changed.")
        cells = ", ".join(f"{stage} x {pillar}" for stage, pillar in sorted(EMPTY_CELLS))
        out.write(f"Coverage gaps left on purpose: {cells}.")
        with _loggers_at_warning(CHATTY_LOGGERS if verbosity < 2 else ()):
            seed_analytics(stdout=out)
        total = time.monotonic() - started
        out.write(f"Took {total:.1f} s (library {library_seconds:.1f} s).\n")
        _print_logins(out)


@contextlib.contextmanager
def _loggers_at_warning(names):
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(max(logger.getEffectiveLevel(), logging.WARNING))
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _print_logins(out) -> None:
    code, title = search_hint()
    rows = [("username", "password", "role", "what to try")]
    for user in DEMO_USERS:
        role = user.role
        if user.teams:
            role += f" ({', '.join(TEAMS[slug] for slug in user.teams)} team)"
        if user.role == ADMIN:
            role += " (superuser)"
        rows.append((user.username, user.password, role, user.try_this))
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    out.write("Demo logins (passwords of users that already existed are left as they were):")
    for row in rows:
        cells = [value.ljust(width) for value, width in zip(row, widths, strict=False)]
        out.write("  " + "  ".join(cells + [row[3]]))
    out.write(
        f'\nAs rep, search for "{code}": it appears only inside the PDF of "{title}", '
        "which proves search reads inside files. The rep is in the North America team, so "
        "the EMEA field kit and the APAC-only assets stay hidden from them."
    )
