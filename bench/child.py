"""Running a benchmark in a child process with settings of its own: a data directory (a
scratch one, removed afterwards, unless one is given), the embedded defaults (no search server
or database URL from the caller's environment), tasks run at once, quiet logs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_INHERITED = {"SEARCH_URL", "SEARCH_ENGINE", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"}


def run_child(
    module: str, options: list[str], *, data_dir: Path | None = None, debug: bool = True
) -> None:
    """``python -m module options`` with the settings above; raises if it fails."""
    scratch = None if data_dir else tempfile.mkdtemp(prefix=f"{module.replace('.', '-')}-")
    env = {key: value for key, value in os.environ.items() if key not in NOT_INHERITED}
    env.update(
        DATA_DIR=str(data_dir or scratch),
        DJANGO_SETTINGS_MODULE="enablement.settings",
        SECRET_KEY="bench-only-not-secret",  # noqa: S106 - a throwaway benchmark database
        DEBUG="true" if debug else "false",
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        TASKS_BACKEND="immediate",
        LOG_LEVEL="WARNING",
    )
    try:
        subprocess.run([sys.executable, "-m", module, *options], cwd=ROOT, env=env, check=True)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
