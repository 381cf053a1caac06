"""Reply-stripping benchmark: extract_reply against the public corpora in ../shared/corpora.

Prints, per corpus, the cases passed / total with the percentage, then each failing case and the
first check it failed. A case passes when every check it carries that we can evaluate passes; how
each corpus's expectations are read is written next to its scorer below. tests/agents imports
this module, so the numbers printed here are the numbers the tests hold.

Run:  /work/venv/bin/python bench/reply_stripping.py [--corpora DIR]
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bs4 import BeautifulSoup

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gateway.agents.reply_text import ReplyText, extract_reply  # noqa: E402

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
Check = tuple[str, bool]  # (what was checked, whether it held)


@dataclass(frozen=True)
class CaseResult:
    name: str
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(held for _, held in self.checks)

    @property
    def why(self) -> str:
        return next((what for what, held in self.checks if not held), "")


@dataclass(frozen=True)
class CorpusScore:
    name: str
    results: tuple[CaseResult, ...]
    skipped: tuple[str, ...] = ()  # cases that carry no check we can evaluate

    @property
    def passed(self) -> int:
        return sum(result.ok for result in self.results)

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0

    def failures(self) -> list[CaseResult]:
        return [result for result in self.results if not result.ok]


def _read(path: Path) -> str:
    # Bytes, not read_text(): CRLF must reach the parser as the mail client wrote it.
    return path.read_bytes().decode("utf-8", errors="replace")


def _timed(text: str = "", html: str = "") -> tuple[ReplyText, float]:
    started = time.perf_counter()
    reply = extract_reply(text, html)
    return reply, time.perf_counter() - started


def _nothing_cut(reply: ReplyText) -> bool:
    return reply.cut_by == "none" and not reply.stripped


# github/email_reply_parser: the Ruby parser splits a body into fragments flagged quoted / hidden.
# A fragment we must show (neither quoted nor hidden; without flags: fragment 0 only) has to be in
# our text, fragment 0 as its prefix; any other fragment must be absent from it. Its regexes use
# Ruby's ^ (any line start). "fragments": 1 means nothing may be cut.
def score_github(folder: Path) -> CorpusScore:
    spec = json.loads((folder / "expected.json").read_text())
    return CorpusScore(folder.name, tuple(_github_case(folder, case) for case in spec["cases"]))


def _github_case(folder: Path, case: dict) -> CaseResult:
    reply, seconds = _timed(_read(folder / case["file"]))
    text, checks = reply.text, []
    flags = [case.get(flag, []) for flag in ("quoted", "hidden")]

    def shown(index: int) -> bool:
        return not any(index < len(flag) and flag[index] for flag in flags) if flags[0] or flags[1] else index == 0

    if "max_seconds" in case:
        checks.append((f"took {seconds:.2f}s, limit {case['max_seconds']}s", seconds <= case["max_seconds"]))
    if "parse_reply_equals" in case:
        want = case["parse_reply_equals"].strip()
        checks.append((f"reply is {want!r}, got {text!r}", text == want))
    if case.get("fragments") == 1:
        checks.append((f"nothing cut, but {reply.cut_by} cut {reply.stripped[:60]!r}", _nothing_cut(reply)))
    for key, value in case.items():
        match = re.fullmatch(r"fragment(\d+)_equals", key)
        if match and value.strip():
            index, value = int(match[1]), value.strip()
            held = (text.startswith(value) if index == 0 else value in text) if shown(index) else value not in text
            checks.append((f"fragment {index} {'shown' if shown(index) else 'cut'}: {value[:40]!r}", held))
    for index, patterns in case.get("fragment_regex", {}).items():
        for pattern in patterns:
            found = re.search(pattern, text, re.M) is not None
            held = found if shown(int(index)) else not found
            checks.append((f"fragment {index} {'shown' if shown(int(index)) else 'cut'}: /{pattern}/", held))
    return CaseResult(case["file"], tuple(checks))


# mailgun/talon: exact reply text per case. .eml: the first text/plain part (compared after
# strip()). HTML replies: the text of what we keep, compared with all whitespace removed. Two
# cases compare the kept HTML itself, whitespace removed; one passes the whole file as plain text.
def score_talon(folder: Path) -> CorpusScore:
    spec = json.loads((folder / "expected.json").read_text())
    return CorpusScore(folder.name, tuple(_talon_case(folder, case) for case in spec["cases"]))


def _first_plain_part(raw: bytes) -> str:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    part = next((p for p in message.walk() if p.get_content_type() == "text/plain"), None)
    return part.get_content() if part is not None else ""


def _no_space(text: str) -> str:
    return re.sub(r"\s", "", text)


def _body_markup(html: str) -> str:
    soup = BeautifulSoup(html, "html.parser")
    body = soup.body or soup
    return _no_space("".join(str(child) for child in body.contents))


def _talon_case(folder: Path, case: dict) -> CaseResult:
    path = folder / case["file"]
    if path.suffix == ".eml" and "expected_reply_text" in case:
        text = extract_reply(_first_plain_part(path.read_bytes())).text
        want = case["expected_reply_text"].strip()
        return CaseResult(case["file"], ((f"reply is {want!r}, got {text!r}", text == want),))
    if "expected_reply_text" in case:
        text = extract_reply("", _read(path)).text
        want = case["expected_reply_text"]
        return CaseResult(case["file"], ((f"reply is {want!r}, got {text!r}", _no_space(text) == _no_space(want)),))
    if "expected_reply_html" in case:
        kept = extract_reply("", _read(path)).html
        want = case["expected_reply_html"]
        return CaseResult(case["file"], ((f"html is {want!r}, got {_body_markup(kept)!r}",
                                          _body_markup(kept) == _body_markup(want)),))
    text = extract_reply(_read(path)).text
    return CaseResult(case["file"], (("non-empty reply without 'From'", bool(text) and "From" not in text),))


# crisp-oss/email-reply-parser: fragment 0 is the new reply. reply_trimmed_equals, visible and
# parse_reply text must equal ours; fragment0_equals must be its prefix. A regex on fragment 0 is
# matched against our text (JavaScript ^: start of text); on a later fragment against what we cut,
# or, when the case does not say that fragment is hidden, later in our text (an inline reply).
# fragment_count 1 means nothing may be cut; other counts are not modelled. Flags on fragment 0
# mean the reply is not empty; flags hiding a later fragment mean something was cut. The few
# raw JavaScript assertions are read by the patterns in _CRISP_JS; the others are skipped, and a
# case left with no check is not counted.
def score_crisp(folder: Path) -> CorpusScore:
    spec = json.loads((folder / "expected.json").read_text())
    common = spec["COMMON_FIRST_FRAGMENT"]
    results = [_crisp_case(folder, case, common) for case in spec["cases"]]
    return CorpusScore(folder.name, tuple(result for result in results if result.checks),
                       tuple(result.name for result in results if not result.checks))


_CRISP_JS: tuple[tuple[str, Callable[[re.Match[str]], dict]], ...] = (
    (r"test\.equal\((\d+), reply\.fragments\.length\);",
     lambda m: {"kind": "fragment_count", "value": int(m[1])}),
    (r'test\.equal\(("(?:[^"\\]|\\.)*"), reply\.fragments\[0\]\.toString\(\)\);',
     lambda m: {"kind": "fragment0_equals", "value": json.loads(m[1])}),
    (r"test\.equal\(true,\s*/(.+)/\.test\(fragments\[(\d+)\]\)\);",
     lambda m: {"kind": "regex", "target": f"fragment{m[2]}", "pattern": m[1], "must_match": True}),
    (r"test\.equal\(true, (?:fragments\.some\(f => f\.isSignature\(\)\)|quoted\.length > 0)\);",
     lambda m: {"kind": "something_cut"}),
)


def _crisp_checks(case: dict) -> Iterator[dict]:
    for check in case["checks"]:
        if check["kind"] != "raw_js_assert":
            yield check
            continue
        for pattern, translate in _CRISP_JS:
            match = re.fullmatch(pattern, check["text"].strip())
            if match:
                yield translate(match)
                break


def _crisp_case(folder: Path, case: dict, common: str) -> CaseResult:
    reply = extract_reply(_read(folder / case["fixtures"][0]))
    text, stripped, checks = reply.text, reply.stripped, []
    hidden = {c["fragment"] for c in case["checks"] if c["kind"] == "flag" and c["fragment"] > 0
              and c["flag"] in ("quoted", "hidden", "signature") and c["value"]}
    for check in _crisp_checks(case):
        kind, value = check["kind"], check.get("value")
        if kind == "reply_trimmed_equals" or kind in ("visible_text_equals", "parse_reply_equals"):
            want = (common if value == "<COMMON_FIRST_FRAGMENT>" else value).strip()
            checks.append((f"reply is {want[:40]!r}…, got {text[:80]!r}", text == want))
        elif kind == "fragment0_equals":
            checks.append((f"reply starts {value.strip()[:40]!r}", text.startswith(value.strip())))
        elif kind == "fragment_count" and value == 1:
            checks.append((f"nothing cut, but {reply.cut_by} cut {stripped[:60]!r}", _nothing_cut(reply)))
        elif kind == "fragment_count_at_least":
            wanted = ("reply not empty", text) if value <= 1 else ("something cut", stripped)
            checks.append((wanted[0], bool(wanted[1])))
        elif kind == "something_cut":
            checks.append(("something cut", bool(stripped)))
        elif kind == "flag" and check["fragment"] == 0 and not value:
            checks.append(("reply not empty", bool(text)))
        elif kind == "flag" and check["fragment"] > 0 and value:
            checks.append(("something cut", bool(stripped)))
        elif kind == "regex":
            checks.append(_crisp_regex(check, text, stripped, hidden))
    return CaseResult(case["test"], tuple(checks))


def _crisp_regex(check: dict, text: str, stripped: str, hidden: set[int]) -> Check:
    pattern, target = check["pattern"], check["target"]
    if target == "fragment0":
        found = re.search(pattern, text) is not None
    elif target == "quoted":
        found = re.search(pattern, stripped) is not None
    else:
        index = int(target.removeprefix("fragment"))
        later = re.search(pattern, text, re.M)
        found = re.search(pattern, stripped, re.M) is not None or (
            index not in hidden and later is not None and later.start() > 0)
    return f"{target}: /{pattern}/", found == check.get("must_match", True)


SCORERS: dict[str, Callable[[Path], CorpusScore]] = {
    "github-email_reply_parser": score_github,
    "mailgun-talon": score_talon,
    "crisp-email-reply-parser": score_crisp,
}


def score(name: str, corpora: Path = CORPORA) -> CorpusScore | None:
    """Score one corpus, or None when its folder is absent."""
    folder = corpora / name
    return SCORERS[name](folder) if (folder / "expected.json").is_file() else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", type=Path, default=CORPORA)
    args = parser.parse_args()
    for name in SCORERS:
        result = score(name, args.corpora)
        if result is None:
            print(f"{name}: absent from {args.corpora}")
            continue
        print(f"{name}: {result.passed}/{result.total} passed ({100 * result.rate:.1f}%)")
        if result.skipped:
            print(f"  not counted (no check we can evaluate): {', '.join(result.skipped)}")
        for failure in result.failures():
            print(f"  FAIL {failure.name}: {failure.why}")
    print("hostile inputs (seconds):")
    for label, text, html in HOSTILE:
        _, seconds = _timed(text, html)
        print(f"  {label}: {seconds:.3f}")
    return 0


# Inputs built to trip backtracking regexes or quadratic HTML handling; the tests check the results.
HOSTILE = (
    ("300 KB of colon lines", ("x" * 150 + ":\n") * 2000, ""),
    ("100,000 dash lines", "--\n" * 100_000, ""),
    ("interleaved quotes", "> q\nt\n" * 50_000, ""),
    ("10,000 attributions", "On 1 Jan 2020, X <a@b.example> wrote:\n" * 10_000, ""),
    ("300 KB footer link", "Sent from my X<" + "a" * 300_000, ""),
    ("HTML, 20,000 line breaks", "", "<div>" + "line<br>" * 20_000 + "</div>"),
    ("HTML, 5,000 nested divs", "", "<div>" * 5000 + "Hi" + "</div>" * 5000),
)


if __name__ == "__main__":
    raise SystemExit(main())
