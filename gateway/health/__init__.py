"""What `gateway doctor` checks: each check is a plain function from settings to findings."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from gateway.config import Settings


@dataclass(frozen=True)
class Finding:
    """One line of `gateway doctor`: what was checked, whether it is fine, and the fix when it is not."""

    check: str
    ok: bool
    detail: str
    fix: str = ""
    # Fine to run with, but worth a look (an example domain, no admins): printed, never a failure.
    warning: bool = False


Check = Callable[[Settings], Iterable[Finding]]


def run_checks(settings: Settings, checks: Iterable[Check]) -> list[Finding]:
    """Every check's findings; a check that raises is itself a finding, never a traceback."""
    findings: list[Finding] = []
    for check in checks:
        try:
            findings.extend(check(settings))
        except Exception as exc:  # A broken check must not hide the others' answers.
            findings.append(Finding(check.__name__, False, f"the check itself failed: {type(exc).__name__}: {exc}",
                                    "report this as a bug"))
    return findings
