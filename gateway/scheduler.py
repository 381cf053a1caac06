"""The worker that turns due times into actions: a held reply nobody settled is dropped, and its agent told."""

from __future__ import annotations

import logging

from sqlmodel import col, select

from gateway.actions import CloseHeld, TellAgent
from gateway.apply import apply
from gateway.models import Conversation, Message, Scheduled, ScheduledState
from gateway.pipeline import load_roster
from gateway.runtime import Runtime

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, rt: Runtime, batch: int = 50) -> None:
        self.rt, self.batch = rt, batch

    def run_once(self) -> int:
        """Handle the due rows; each is claimed (SKIP LOCKED) so two gateways never handle one twice."""
        now = self.rt.clock()
        due_now = select(Scheduled.id).where(Scheduled.state == ScheduledState.PENDING, Scheduled.due_at <= now)
        with self.rt.store.reading() as tx:
            if tx.exec(due_now.limit(1)).first() is None:
                return 0  # Most passes find nothing: do not take the (SQLite-wide) write lock for that.
        with self.rt.store.transaction() as tx:
            due = tx.exec(select(Scheduled).where(
                Scheduled.state == ScheduledState.PENDING, Scheduled.due_at <= now)
                .order_by(col(Scheduled.due_at)).limit(self.batch).with_for_update(skip_locked=True)).all()
            roster = load_roster(tx)
            for row in due:
                conversation = tx.get(Conversation, row.conversation_id)
                agent = next((a for a in roster if a.id == row.agent_id), None)
                message = tx.get(Message, row.message_pk) if row.message_pk else None
                if row.kind != "held_reply" or conversation is None or message is None:
                    row.state = ScheduledState.CANCELLED
                    continue
                actions = [CloseHeld(row.id, ScheduledState.CANCELLED)]  # type: ignore[arg-type]
                if agent is not None:
                    actions.append(TellAgent(agent, "held_dropped"))  # type: ignore[arg-type]
                apply(tx, conversation, message, actions, self.rt, roster, now)
                log.info("conv=%s held reply %s by %s dropped: nobody chose #send or #drop", conversation.ref,
                         row.id, agent.address if agent else "-")
        return len(due)
