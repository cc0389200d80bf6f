"""Adding a taxonomy facet is one entry in ``cms.taxonomy.FACETS`` (plus its term model and
migration), and every engine, the API, the search page and the library listing follow.

The entry is added by a settings module (``tests/settings_extra_facet.py``), which only a
process of its own can use: this test runs tests/extra_facet/check_region_facet.py in one, on
the embedded engine and, when their URLs are set, OpenSearch and Elasticsearch.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKS = "tests/extra_facet/check_region_facet.py"

pytestmark = [pytest.mark.slow, pytest.mark.service]


def test_a_facet_added_in_settings_reaches_every_engine_the_api_and_the_forms():
    command = [sys.executable, "-m", "pytest", CHECKS, "--ds=tests.settings_extra_facet", "-q"]
    command += ["-p", "no:cacheprovider", "-rs"]
    run = subprocess.run(
        command, cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=1800
    )
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    passed = int(re.search(r"(\d+) passed", summary).group(1))
    assert passed >= 7, summary  # every check on the embedded engine at least
    skipped = re.search(r"(\d+) skipped", summary)
    if skipped:
        pytest.skip(
            f"some engines were not tested ({summary}): set OPENSEARCH_TEST_URL and "
            "ELASTICSEARCH_TEST_URL"
        )
