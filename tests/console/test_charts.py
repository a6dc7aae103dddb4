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
