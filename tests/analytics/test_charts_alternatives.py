"""Each chart on an asset's dashboard page comes with its numbers as a table: an audit found the
attribution values only as SVG text inside role="img", the weekly values only in <title>
tooltips, and the interval chart's name leaving out the segment and stage rows."""

from __future__ import annotations

import re

from analytics.charts import attribution_chart, interval_chart, weekly_chart


def _table(html: str) -> str:
    match = re.search(r'<details class="chart-data">.*?</details>', html, re.S)
    assert match, "no data table next to the chart"
    assert "<summary>Show the numbers</summary>" in match.group(0)
    return match.group(0)


def _rows(table: str) -> list[list[str]]:
    return [
        re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)
        for row in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1])
    ]


def test_attribution_chart_lists_every_model_and_value_in_a_table_escaped():
    numbers = {
        "attributed_first_touch": 17392864,
        "attributed_last_touch": 1200.4,
        "attributed_linear": 0,
        "attributed_u_shaped": 55,
        "attributed_time_decay": None,
        "currency": "<b>US$</b>",
    }
    table = _table(str(attribution_chart(numbers)))
    assert _rows(table) == [
        ["First touch", "&lt;b&gt;US$&lt;/b&gt;\u00a017,392,864"],
        ["Last touch", "&lt;b&gt;US$&lt;/b&gt;\u00a01,200"],
        ["Linear", "&lt;b&gt;US$&lt;/b&gt;\u00a00"],
        ["U-shaped", "&lt;b&gt;US$&lt;/b&gt;\u00a055"],
        ["Time decay", "&lt;b&gt;US$&lt;/b&gt;\u00a00"],
    ]
    assert "<b>" not in table


def test_weekly_chart_lists_each_week_with_touches_and_own_use():
    weeks = [
        {"week": "2024-05-06", "asset_shared": 2, "buyer_opened": 1, "asset_viewed": 4},
        {"week": "<i>2024-05-13</i>", "used_in_deal": 3, "asset_downloaded": 1},
    ]
    table = _table(str(weekly_chart(weeks)))
    assert _rows(table) == [
        ["2024-05-06", "3", "4"],
        ["&lt;i&gt;2024-05-13&lt;/i&gt;", "3", "1"],
    ]
    assert "<i>" not in table


def test_weekly_chart_without_weeks_has_no_empty_table():
    assert "chart-data" not in str(weekly_chart([]))


def test_interval_chart_names_and_tabulates_segment_and_stage_rows():
    numbers = {
        "effect": 0.12,
        "effect_ci_low": 0.02,
        "effect_ci_high": 0.22,
        "segments": [{"segment": "<SMB>", "effect": 0.2, "low": -0.1, "high": 0.5}],
        "stages": [{"stage": "Decide", "effect": None, "low": None, "high": None}],
        "stage_matched_lift": 0.05,
        "stage_matched_lift_ci_low": -0.01,
        "stage_matched_lift_ci_high": 0.11,
        "raw_lift": 0.3,
    }
    html = str(interval_chart(numbers))
    name = re.search(r'<title id="interval-title">(.*?)</title>', html).group(1)
    assert "Segment &lt;SMB&gt; +20 pts (-10 pts to +50 pts)" in name
    assert "First used in Decide not enough data" in name
    assert _rows(_table(html)) == [
        ["Stratified effect", "+12\u00a0pts", "+2\u00a0pts to +22\u00a0pts"],
        ["Segment &lt;SMB&gt;", "+20\u00a0pts", "-10\u00a0pts to +50\u00a0pts"],
        ["First used in Decide", "not enough data", "none"],
        ["Stage-matched (earlier)", "+5\u00a0pts", "-1\u00a0pt to +11\u00a0pts"],
        ["Raw: used vs not", "+30\u00a0pts", "none"],
    ]
    assert "<SMB>" not in html
