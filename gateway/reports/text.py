"""The report in a terminal: the measures, then each section; plain text when piped."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from gateway.reports.columns import COLUMNS, human
from gateway.reports.report import Report
from gateway.reports.sections import AutoReplies

SHADES = " .:-=+*#%@"
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def heading(report: Report) -> str:
    w = report.window
    channel = report.channel or "all channels"
    return (f"Report {w.since:%Y-%m-%d %H:%M} to {w.until:%Y-%m-%d %H:%M} UTC · {channel} · "
            f"business hours in {report.timezone}")


def print_report(report: Report, console: Console) -> None:
    console.print(heading(report), style="bold")
    console.print()
    if report.by is None:
        for column in COLUMNS[1:]:
            console.print(f"{column.title:<32} {human(column.value(report.total), column.share)}")
    else:
        brief = [c for c in COLUMNS if c.brief]
        table = Table(box=None, pad_edge=False)
        for column in brief:
            if column.key == "group":  # A week or tag cut short is useless: it never wraps.
                table.add_column(report.by.value.upper(), no_wrap=True, min_width=10)
            else:
                table.add_column(column.brief, justify="right")
        for metrics in [*report.groups, report.total]:
            table.add_row(*(human(c.value(metrics), c.share) for c in brief))
        console.print(table)
        console.print("NEW conversations; IN from customers; OUT replies to them; first REPLY in business hours; "
                      "RESOLVED in (median, clock); EXCHanges per resolved; REOPENed share. The last row is all of "
                      "them; --json, --csv and --html have every column.")
    _auto_replies(report.auto_replies, console)
    console.print()
    if report.csat is None:
        console.print("Satisfaction (CSAT): no surveys")
    else:
        c = report.csat
        answers, surveys = ("answer" if c.answered == 1 else "answers"), ("survey" if c.sent == 1 else "surveys")
        console.print(f"Satisfaction (CSAT): {human(c.satisfied_share, True)} satisfied; "
                      f"{c.answered} {answers} to {c.sent} {surveys} ({human(c.response_rate, True)})")
    _tags_and_issues(report, console)
    _first_reply(report, console)
    _busiest(report, console)
    if report.agents is not None:
        table = Table("AGENT", "REPLIES", "CONVERSATIONS", "RESOLVED (ASSIGNED)", box=None, title="By agent")
        for a in report.agents:
            table.add_row(a.agent, str(a.replies), str(a.conversations), str(a.resolved_assigned))
        console.print(table if report.agents else "By agent: no replies in this window")


def _auto_replies(auto: AutoReplies, console: Console) -> None:
    console.print()
    console.print(f"Auto-replies: {auto.sent} sent, {auto.failed} failed in delivery, "
                  f"{sum(n for _, n in auto.suppressed)} not sent; {auto.machine_mail} machine mails never answered")
    for reason, count in auto.suppressed:
        console.print(f"  not sent, {reason}: {count}")


def _tags_and_issues(report: Report, console: Console) -> None:
    console.print()
    tags = ", ".join(f"{t.tag} {t.conversations} ({t.share:.0%})" for t in report.top_tags)
    console.print(f"Top tags: {tags or 'none'}")
    for issue in report.known_issues:
        console.print(f"Known issue {issue.name} (known since {issue.known_since:%Y-%m-%d %H:%M} UTC): "
                      f"{issue.conversations} conversations, {issue.already_known} after it was known, "
                      f"{issue.partners} from partners")
    for s in report.segments:
        console.print(f"Already-known issues, {s.segment}: {s.already_known} of {s.conversations} conversations "
                      f"({human(s.share, True)})")


def _first_reply(report: Report, console: Console) -> None:
    console.print()
    console.print("First reply, business hours:")
    most = max((b.count for b in report.first_response_histogram), default=0) or 1
    for bucket in report.first_response_histogram:
        console.print(f"  {bucket.label:>7} {'█' * round(30 * bucket.count / most):<30} {bucket.count}")


def _busiest(report: Report, console: Console) -> None:
    console.print()
    console.print(f"Customer messages by hour ({report.timezone}); darker is busier:")
    console.print("      " + "".join(f"{h:<3}" for h in range(0, 24, 3)).rstrip())
    most = max(max(row) for row in report.busiest_hours) or 1
    for day, row in zip(DAYS, report.busiest_hours, strict=True):
        shades = "".join(SHADES[min(len(SHADES) - 1, round((len(SHADES) - 1) * n / most))] for n in row)
        console.print(f"  {day} {shades}  {sum(row)}")
