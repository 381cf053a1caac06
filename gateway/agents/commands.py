"""The `#command` lines at the top of an agent's reply: parsed, checked, and cut from what the customer sees."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from bs4 import BeautifulSoup, Comment

from gateway.models import Priority

# Commands that take an argument, and those that must not.
WITH_ARGUMENT = ("assign", "tag", "untag", "priority", "template")
WITHOUT_ARGUMENT = ("note", "close", "resolve", "pending", "open", "nosurvey", "send", "drop")
KNOWN = WITH_ARGUMENT + WITHOUT_ARGUMENT
# "#word" alone or with an argument; "#1 thing" or "#hashtag-like prose" is text, not a command.
_COMMAND = re.compile(r"^#(?P<name>[A-Za-z]+)(?:[ \t]+(?P<argument>\S.*?))?[ \t]*$")
_TAG = re.compile(r"^[\w][\w.-]{0,49}$")


@dataclass(frozen=True)
class Command:
    name: str
    argument: str = ""


@dataclass(frozen=True)
class Commands:
    """The commands found, what was wrong with any of them, and the text that follows them."""

    commands: tuple[Command, ...] = ()
    errors: tuple[str, ...] = ()
    body: str = ""

    def has(self, name: str) -> bool:
        return any(c.name == name for c in self.commands)

    def lines(self) -> frozenset[str]:
        """The command lines as written, so they can be cut from an HTML body too."""
        return frozenset(f"#{c.name}" + (f" {c.argument}" if c.argument else "") for c in self.commands)


def _check(name: str, argument: str) -> str:
    """Why this command cannot run, or "" when it can."""
    if name not in KNOWN:
        guess = difflib.get_close_matches(name, KNOWN, n=1, cutoff=0.6)
        hint = f"; did you mean #{guess[0]}?" if guess else f"; known: {', '.join('#' + k for k in KNOWN)}"
        return f"#{name} is not a command{hint}"
    if name in WITH_ARGUMENT and not argument:
        return f"#{name} needs an argument, like #{name} {_EXAMPLE[name]}"
    if name in WITHOUT_ARGUMENT and argument:
        return f"#{name} takes no argument (got {argument!r})"
    if name == "priority" and argument.lower() not in set(Priority):
        return f"#priority {argument}: use one of {', '.join(Priority)}"
    if name in ("tag", "untag") and not _TAG.match(argument):
        return f"#{name} {argument}: a tag is one word (letters, digits, - . _)"
    return ""


_EXAMPLE = {"assign": "me", "tag": "billing", "untag": "billing", "priority": "high", "template": "welcome"}


def parse_commands(text: str) -> Commands:
    """Read `#command` lines at the very top (blank lines between them allowed); the rest is the body."""
    lines = text.splitlines()
    commands: list[Command] = []
    errors: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        if not line:
            index += 1
            continue
        match = _COMMAND.match(line)
        if not match:
            break
        name, argument = match["name"].lower(), (match["argument"] or "").strip()
        if name in ("tag", "untag", "priority"):
            argument = argument.lower()
        problem = _check(name, argument)
        if problem:
            errors.append(problem)
        else:
            commands.append(Command(name, argument))
        index += 1
    body = "\n".join(lines[index:]).strip("\n")
    return Commands(tuple(commands), tuple(errors), body)


def without_command_lines(html: str, lines: frozenset[str]) -> str:
    """The HTML body with the command lines at its top removed (they are in the HTML too)."""
    if not html or not lines:
        return html
    wanted = {line.lower() for line in lines}
    soup = BeautifulSoup(html, "html.parser")
    for text in list(soup.find_all(string=True)):
        value = text.strip()
        if not value or isinstance(text, Comment) or text.parent.name in ("style", "head", "title"):
            continue
        if " ".join(value.split()).lower() not in wanted:
            break
        following = text.find_next_sibling()
        if following is not None and following.name == "br":
            following.decompose()
        text.extract()
    return str(soup)
