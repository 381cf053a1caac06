"""`gateway messages reprocess ID… | --since …`: stored raw mail through the pipeline again."""

from __future__ import annotations

from collections import Counter
from contextlib import nullcontext
from typing import Annotated

import typer
from sqlmodel import col, select

from gateway.cli.common import (MAX_ID, ConfigOption, JsonOption, SinceOption, fail, open_runtime, settings_from,
                                since_time)
from gateway.cli.output import emit_jsonl
from gateway.cli.progress import progress
from gateway.models import RawMessage
from gateway.pipeline import Processor
from gateway.replay import WAITING, Replayed, replay

app = typer.Typer(no_args_is_help=True, help="Stored raw mail, as it was received.\n\n"
                                            "Example: gateway messages reprocess --since 2d")
BATCH = 50


@app.command()
def reprocess(ids: Annotated[list[int] | None, typer.Argument(
                  metavar="[ID]...", help="Raw mail ids (as `gateway quarantine list` shows them).", max=MAX_ID,
                  show_default=False)] = None,
              since: SinceOption = None, config: ConfigOption = None, json_: JsonOption = False) -> None:
    """Replay stored mail that is waiting or was quarantined through the pipeline (e.g. after a fix).

    Idempotent: mail already turned into a message is left alone, and replayed mail is de-duplicated like any
    other, so nothing is stored or answered twice. With --since, a progress bar; Ctrl-C stops after the batch in
    hand, and running the command again carries on.

    Example: gateway messages reprocess 41 42   (or: gateway messages reprocess --since 2d)
    """
    if ids and since is not None:
        fail("give raw mail ids or --since, not both", code=2)
    if not ids and since is None:
        fail("give raw mail ids (`gateway quarantine list` shows them) or --since 2d", code=2)
    settings = settings_from(config)
    moment = since_time(since, settings)
    rt = open_runtime(settings)
    with rt.store.reading() as tx:
        query = select(RawMessage.id).order_by(col(RawMessage.id))
        chosen: list[int] = list(tx.exec(  # type: ignore[arg-type]
            query.where(RawMessage.received_at >= moment, col(RawMessage.state).in_(WAITING)) if moment is not None
            else query.where(col(RawMessage.id).in_(ids or []))).all())
    if missing := sorted(set(ids or []) - set(chosen)):
        fail(f"no stored mail with id {', '.join(map(str, missing))}; `gateway quarantine list` shows ids")
    processor = Processor(rt)
    outcomes: list[Replayed] = []
    try:
        with progress("reprocess", len(chosen)) if moment is not None else nullcontext(lambda n: None) as advance:
            for start in range(0, len(chosen), BATCH):
                batch = chosen[start:start + BATCH]
                outcomes += replay(processor, batch)
                advance(len(batch))
    except KeyboardInterrupt:
        fail(f"interrupted after {len(outcomes)} of {len(chosen)}; run the same command again to carry on",
             code=130)
    if json_:
        emit_jsonl({"id": o.raw_id, "before": o.before, "after": o.after, "conversation": o.conversation,
                    "reason": o.reason} for o in outcomes)
    else:
        for o in outcomes:
            where = f" → {o.conversation}" if o.conversation else ""
            why = f": {o.reason}" if o.reason else ""
            typer.echo(f"{o.raw_id}: {o.before} → {o.after}{where}{why}")
        counts = Counter(o.after for o in outcomes)
        summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        typer.echo(f"reprocessed {len(outcomes)} mail{'s' if len(outcomes) != 1 else ''}"
                   + (f" ({summary})" if summary else ""))
