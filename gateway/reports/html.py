"""The report as one self-contained web page (inline CSS and SVG, nothing fetched) to share with anyone."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, select_autoescape

from gateway.reports.columns import COLUMNS, human
from gateway.reports.report import Report
from gateway.reports.svg import Series, bar_chart, heat_map
from gateway.reports.text import DAYS, heading

PAGE = Path(__file__).with_name("page.html.j2")
_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True), trim_blocks=True,
                   lstrip_blocks=True)


def charts(report: Report) -> dict[str, str]:
    """The three plots, as SVG text."""
    weeks = [m.group for m in report.weeks]
    return {
        "volume": bar_chart("Volume per week", weeks, (
            Series("new conversations", [m.new_conversations for m in report.weeks], "#1f6feb"),
            Series("messages in", [m.messages_in for m in report.weeks], "#8957e5"),
            Series("replies out", [m.messages_out for m in report.weeks], "#2da44e"))),
        "first_reply": bar_chart("First reply, business hours", [b.label for b in report.first_response_histogram],
                                 (Series("conversations", [b.count for b in report.first_response_histogram],
                                         "#1f6feb"),)),
        "busiest": heat_map("Customer messages by weekday and hour", DAYS, report.busiest_hours),
    }


def render_html(report: Report) -> str:
    template = _ENV.from_string(PAGE.read_text(encoding="utf-8"))
    rows = report.groups if report.by is None else [*report.groups, report.total]
    return template.render(report=report, title=heading(report), columns=COLUMNS, rows=rows, human=human,
                           charts=charts(report))
