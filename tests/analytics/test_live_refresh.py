"""Fresh without anyone acting, for real: the worker and the scheduler run as their own
processes (the commands `make run` starts, with the database task queue), events are
recorded, and the dashboard's rollups show them within 60 seconds with no command, button or
import. SQLite in a scratch data directory (the other tests cover PostgreSQL's behaviour)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SETUP = """
from datetime import timedelta
from django.utils import timezone
from analytics.usage import EventInput, usage_record_batch
from accounts.roles import ENABLEMENT_LEAD
from tests.factories import make_asset, make_user
asset = make_asset("Live deck")
lead = make_user("live-lead", role=ENABLEMENT_LEAD)
print(asset.pk)
"""

CHECK = """
import time
from django.utils import timezone
from analytics.models import AssetUsage
from analytics.usage import EventInput, usage_record_batch
from django.contrib.auth import get_user_model
lead = get_user_model().objects.get(username="live-lead")
asset_id = {asset_id}
events = [
    EventInput(idempotency_key=f"live-{{n}}", kind="asset_viewed", asset_id=asset_id)
    for n in range(3)
]
assert not usage_record_batch(events=events, user=lead).errors
sent = time.monotonic()
while time.monotonic() - sent < 90:
    row = AssetUsage.objects.filter(asset_id=asset_id, window="all").first()
    if row and row.data.get("views") == 3:
        print(f"fresh after {{time.monotonic() - sent:.1f}}")
        break
    time.sleep(0.5)
else:
    print("never fresh")
"""


def _manage(env, *args, timeout=180):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.slow
def test_worker_and_scheduler_keep_the_numbers_fresh_with_nobody_acting(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "SEARCH_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="enablement.settings",
        DATA_DIR=str(tmp_path),
        SECRET_KEY="live-test-only",
        TASKS_BACKEND="database",
        ANALYTICS_REFRESH_SECONDS="5",
        LOG_LEVEL="WARNING",
    )
    assert _manage(env, "migrate", "--noinput").returncode == 0
    setup = _manage(env, "shell", "-c", SETUP)
    assert setup.returncode == 0, setup.stderr
    asset_id = int(setup.stdout.strip().splitlines()[-1])
    processes = [
        subprocess.Popen(  # the commands of the Makefile's run target
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in (("db_worker", "--interval", "1"), ("analytics_scheduler",))
    ]
    try:
        check = _manage(env, "shell", "-c", CHECK.format(asset_id=asset_id), timeout=180)
    finally:
        for process in processes:
            process.send_signal(signal.SIGINT)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    assert check.returncode == 0, check.stderr
    result = check.stdout.strip().splitlines()[-1]
    assert result.startswith("fresh after"), (result, processes[0].stderr.read())
    assert float(result.split()[-1]) < 60
