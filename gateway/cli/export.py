"""`gateway export`: every conversation with its messages, for scripts and archives."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.common import ConfigOption, open_store, settings_from
from gateway.records import conversation_records


class Format(StrEnum):
    JSONL = "jsonl"


def export(out: Annotated[Path, typer.Argument(help="The file to write, or - for standard output.")],
           config: ConfigOption = None,
           format_: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.JSONL) -> None:
    """Write one JSON object per conversation, with its messages.

    Example: gateway export --format jsonl conversations.jsonl
    """
    store = open_store(settings_from(config))
    stream = sys.stdout if str(out) == "-" else out.open("w", encoding="utf-8")
    count = 0
    with store.reading() as tx, stream:
        for record in conversation_records(tx):
            stream.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
            count += 1
    if str(out) != "-":
        typer.echo(f"wrote {count} conversations to {out}")


def register(app: typer.Typer) -> None:
    app.command()(export)
