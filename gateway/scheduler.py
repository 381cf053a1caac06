"""The worker that turns due times into actions: surveys whose delay is over, and held replies nobody settled
(dropped, and their agent told)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from gateway.actions import CloseHeld, TellAgent
from gateway.agents.roster import AgentView
from gateway.apply import apply
from gateway.errors import StorageError
from gateway.models import Conversation, Message, Note, Scheduled, ScheduledState
from gateway.pipeline import load_roster
from gateway.runtime import Runtime
from gateway.surveys.due import run_due_survey
from gateway.surveys.schedule import SURVEY

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, rt: Runtime, batch: int = 50) -> None:
        self.rt, self.batch = rt, batch

    def run_once(self) -> int:
        """Handle up to `batch` due rows, each claimed (SKIP LOCKED) and handled in its own transaction, so two
        gateways never handle one twice and one bad row never holds back the others."""
        now = self.rt.clock()
        with self.rt.store.reading() as tx:
            if tx.exec(self._due(now).limit(1)).first() is None:
                return 0  # Most passes find nothing: do not take the (SQLite-wide) write lock for that.
        handled = 0
        while handled < self.batch:
            claimed: int | None = None
            try:
                with self.rt.store.transaction() as tx:
                    row = tx.exec(self._due(now).order_by(col(Scheduled.due_at)).limit(1)
                                  .with_for_update(skip_locked=True)).first()
                    if row is None:
                        break
                    claimed = row.id
                    self._handle(tx, row, load_roster(tx), now)
            except (StorageError, OperationalError):
                raise  # The store is unwell, not the row: it stays due for the next pass.
            except Exception as exc:  # A bug in one row must not stop the others, nor come back every pass.
                log.exception("scheduled=%s failed; cancelled", claimed)
                self._give_up(claimed, exc, now)
            handled += 1
        return handled

    @staticmethod
    def _due(now: datetime) -> SelectOfScalar[Scheduled]:
        return select(Scheduled).where(Scheduled.state == ScheduledState.PENDING, Scheduled.due_at <= now)

    def _handle(self, tx: Session, row: Scheduled, roster: Sequence[AgentView], now: datetime) -> None:
        conversation = tx.get(Conversation, row.conversation_id)
        row.state = ScheduledState.DONE if row.kind == SURVEY else ScheduledState.CANCELLED
        if conversation is None:
            return
        if row.kind == SURVEY:
            run_due_survey(tx, conversation, self.rt, roster, now)
            return
        message = tx.get(Message, row.message_pk) if row.message_pk else None
        if row.kind != "held_reply" or message is None:
            return
        agent = next((a for a in roster if a.id == row.agent_id), None)
        actions = [CloseHeld(row.id, ScheduledState.CANCELLED)]  # type: ignore[arg-type]
        if agent is not None:
            actions.append(TellAgent(agent, "held_dropped"))  # type: ignore[arg-type]
        apply(tx, conversation, message, actions, self.rt, roster, now)
        log.info("conv=%s held reply %s by %s dropped: nobody chose #send or #drop", conversation.ref,
                 row.id, agent.address if agent else "-")

    def _give_up(self, row_id: int | None, exc: Exception, now: datetime) -> None:
        if row_id is None:
            return
        with self.rt.store.transaction() as tx:
            row = tx.get(Scheduled, row_id)
            if row is None:
                return
            row.state = ScheduledState.CANCELLED
            tx.add(Note(conversation_id=row.conversation_id, created_at=now, kind="scheduled_failed",
                        body=f"The scheduled {row.kind.replace('_', ' ')} failed and was dropped: "
                             f"{type(exc).__name__}: {exc}"))
