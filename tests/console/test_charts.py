"""The server-drawn charts' markup: every shape there, every text escaped."""

from __future__ import annotations

from bookdesk.console import charts


def test_a_chart_is_drawn_with_its_texts_escaped() -> None:
    labels = ["<b>May</b>", "June & July"]
    bars = charts.bar_chart(labels, [charts.Series("Revenue <x>", "series-revenue", [1200, 0])], fmt=str)
    markup = charts.svg(bars, html_id="chart-money", title='Revenue "by" <month>')
    assert markup.count("<rect ") == 1  # a zero draws no bar
    assert "<title>&lt;b&gt;May&lt;/b&gt;: Revenue &lt;x&gt; 1200</title>" in markup
    assert "June &amp; July" in markup
    assert '<title id="chart-money-title">Revenue &quot;by&quot; &lt;month&gt;</title>' in markup
    assert "<b>" not in markup
    line = charts.line_chart(labels, charts.Series("Success", "series-success", [950, None]), top=1000, fmt=str)
    drawn = charts.svg(line, html_id="chart-success", title="Success")
    assert drawn.count("<circle ") == 1  # None is not drawn
    assert "<polyline" not in drawn  # one point makes no line
    assert '<span class="swatch series-success"></span> Success' in drawn


def test_a_phone_is_shown_every_other_axis_label_of_the_day() -> None:
    """Up to eight labels on a wide screen; on a phone (CSS hides `wide-only`) every other one, drawn larger."""
    labels = [f"2026-11-{day:02d}" for day in range(1, 31)]
    chart = charts.bar_chart(labels, [charts.Series("Orders", "series-orders", [1] * 30)], fmt=str, counts=True)
    shown = [label for _, label, _ in chart.x_labels]
    on_a_phone = [label for _, label, narrow in chart.x_labels if narrow]
    assert shown == labels[::4]
    assert len(shown) <= charts.MAX_X_LABELS
    assert on_a_phone == labels[::8]
    markup = charts.svg(chart, html_id="chart-orders", title="Orders")
    assert markup.count('class="axis-label wide-only"') == len(shown) - len(on_a_phone)


def test_an_axis_can_be_written_apart_from_its_bars() -> None:
    chart = charts.bar_chart(
        ["May"], [charts.Series("Revenue", "series-revenue", [25000])], fmt=lambda v: f"€{v / 100:.2f}",
        ticks=lambda v: f"€{v // 100}",
    )  # fmt: skip
    assert [label for _, label in chart.y_ticks] == ["€0", "€125", "€250", "€375", "€500"]
    assert chart.bars[0].title == "May: Revenue €250.00"
