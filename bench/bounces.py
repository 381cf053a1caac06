"""Print how well bounces in the public sisimai corpus are read: classified, hard or temporary, recipient named.

    .venv/bin/python bench/bounces.py
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.classify import SenderKind, classify  # noqa: E402
from gateway.config import Settings  # noqa: E402
from gateway.delivery_report import read_report  # noqa: E402
from gateway.message import parse  # noqa: E402

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "sisimai-set-of-emails"


def main() -> None:
    files = [f["file"] for f in json.loads((CORPUS / "labels.json").read_text())["files"]
             if f["gateway_class"] == "bounce"]
    figures: Counter[str] = Counter()
    unnamed: list[str] = []
    for name in files:
        raw = (CORPUS / name).read_bytes()
        msg = parse(raw)
        report = read_report(msg, raw)
        kind = "DSN" if report.standard else "text"
        figures[kind] += 1
        figures["classified as bounce"] += classify(msg, None, (), Settings(), "x", frozenset()).kind is SenderKind.BOUNCE
        figures["hard"] += any(p.permanent for p in report.problems)
        figures["delayed"] += all(p.action == "delayed" for p in report.problems)
        if any(p.address for p in report.problems):
            figures[f"{kind}, recipient named"] += 1
        else:
            unnamed.append(name)
    total = len(files)
    print(f"{total} bounces in sisimai-set-of-emails")
    for key in ("classified as bounce", "DSN", "DSN, recipient named", "text", "text, recipient named", "hard",
                "delayed"):
        print(f"  {key:24} {figures[key]:4d}  ({figures[key] / total:.0%})")
    print(f"  no recipient named: {len(unnamed)} (a VERP envelope or our Message-ID still ties them to the "
          "mail we sent; see --list)")
    if "--list" in sys.argv:
        print("\n".join(f"    {n}" for n in unnamed))


if __name__ == "__main__":
    main()
