"""The sender worker: claims due outbox rows, delivers them, records what happened."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlmodel import Session, col, or_, select

from gateway.bounces import record_hard_bounces, refused_recipients
from gateway.config import Settings
from gateway.models import Conversation, Note, OutboxItem, OutboxStatus, Status
from gateway.outbound.backoff import next_attempt
from gateway.outbound.transport import SEND_TIMEOUTS, Outcome, SendResult, Transport
from gateway.store import Store

log = logging.getLogger(__name__)


def _answered_meanwhile(tx: Session, items: list[OutboxItem]) -> set[int]:
    """The acknowledgements among `items` whose conversation an agent has answered, or that is resolved."""
    waiting = {item.conversation_id: item.id for item in items if item.kind == "acknowledgement"
               and item.conversation_id is not None}
    if not waiting:
        return set()
    answered = tx.exec(select(Conversation.id).where(col(Conversation.id).in_(waiting), or_(
        col(Conversation.first_response_at).is_not(None), col(Conversation.status) == Status.RESOLVED))).all()
    return {waiting[cid] for cid in answered}  # type: ignore[misc]


# Relay timeouts beyond a send's deadline before its lease runs out: for cutting the send off, the commit, and
# the clocks of two gateways not quite agreeing.
_MARGIN = 2


class OutboxSender:
    """Delivers the outbox; fresh mail before retries, so a backlog never delays new mail."""

    def __init__(self, store: Store, settings: Settings, transport: Transport,
                 clock: Callable[[], datetime], batch: int = 10) -> None:
        self.store, self.settings, self.transport, self.clock, self.batch = store, settings, transport, clock, batch
        self._outage = False

    @property
    def lease(self) -> timedelta:
        """Long enough to send a whole batch, each item taking at most the relay timeout, and never shorter than
        the longest send; a slower relay gets the rest of the batch back rather than a send that could outlast it
        (run_once)."""
        return self.settings.relay.timeout * max(self.batch + 1, SEND_TIMEOUTS + _MARGIN + 1)

    @property
    def longest_send(self) -> timedelta:
        """The transport's deadline for one send, and room for cutting it off, the commit and clocks apart."""
        return self.settings.relay.timeout * (SEND_TIMEOUTS + _MARGIN)

    def release_abandoned(self) -> int:
        """Put every SENDING row back to PENDING; only for a store that one process owns (SQLite)."""
        with self.store.transaction() as tx:
            items = list(tx.exec(select(OutboxItem).where(OutboxItem.status == OutboxStatus.SENDING)).all())
            for item in items:
                item.status, item.lease_until = OutboxStatus.PENDING, None
        if items:
            log.warning("%d outbox items were being sent when the gateway stopped; they will be sent again",
                        len(items))
        return len(items)

    def _claim(self, now: datetime) -> list[OutboxItem]:
        # A SENDING row whose lease ran out belongs to a process that died mid-send: take it over.
        due = or_(col(OutboxItem.status) == OutboxStatus.PENDING,
                  (col(OutboxItem.status) == OutboxStatus.SENDING) & (col(OutboxItem.lease_until) < now))
        with self.store.transaction() as tx:
            items = list(tx.exec(select(OutboxItem).where(due, col(OutboxItem.next_attempt_at) <= now)
                                 .order_by(col(OutboxItem.attempts) > 0, col(OutboxItem.next_attempt_at))
                                 .limit(self.batch).with_for_update(skip_locked=True)).all())
            stale = _answered_meanwhile(tx, items)
            for item in items:
                if item.id in stale:
                    # Retried past an agent's answer or the close: "a person will answer" would now mislead.
                    item.status, item.last_error = OutboxStatus.CANCELLED, "not sent: already answered or resolved"
                    tx.add(Note(conversation_id=item.conversation_id, created_at=now, kind="delivery_cancelled",
                                body=f"The acknowledgement {item.message_id} was not sent: the conversation was "
                                     "answered or resolved while it waited for the relay."))
                    log.info("mid=%s outbox=%s acknowledgement cancelled: conversation answered or resolved",
                             item.message_id, item.id)
                else:
                    item.status, item.lease_until = OutboxStatus.SENDING, now + self.lease
                tx.add(item)
        return [item for item in items if item.id not in stale]

    def run_once(self) -> int:
        """Deliver what is due now; return how many items were tried."""
        items = self._claim(self.clock())
        for n, item in enumerate(items):
            if item.lease_until is not None and self.clock() + self.longest_send > item.lease_until:
                # A slow relay used up the batch's lease: a send begun now could outlast it, and another gateway
                # would then send the same mail. The rest goes back for the next pass, unless the lease has run out
                # already: then another sender may hold these rows, and they are not ours to touch.
                if self.clock() < item.lease_until:
                    self._release(items[n:])
                return n
            try:
                result = self.transport.send(item)
            except Exception as exc:  # A transport bug must not strand the rest of the claimed batch.
                log.exception("mid=%s outbox=%s transport failed", item.message_id, item.id)
                result = SendResult(Outcome.TEMPORARY, f"{type(exc).__name__}: {exc}")
            with self.store.transaction() as tx:
                self._record(tx, tx.get(OutboxItem, item.id), result, self.clock())  # type: ignore[arg-type]
        if not items:
            self.transport.close()  # Nothing due: do not hold the relay's connection while idle.
        return len(items)

    def _release(self, items: list[OutboxItem]) -> None:
        with self.store.transaction() as tx:
            for item in items:
                row = tx.get(OutboxItem, item.id)
                if row is not None and row.status == OutboxStatus.SENDING and row.lease_until == item.lease_until:
                    row.status, row.lease_until = OutboxStatus.PENDING, None
        log.warning("%d outbox items put back unsent: the relay is slow and their lease would run out",
                    len(items))

    def _record(self, tx: Session, item: OutboxItem, result: SendResult, now: datetime) -> None:
        item.attempts += 1
        item.lease_until = None
        if result.outcome is Outcome.SENT:
            item.status, item.sent_at, item.last_error = OutboxStatus.SENT, now, None
            if self._outage:
                log.info("relay reachable again")
                self._outage = False
            log.info("mid=%s outbox=%s sent to %s", item.message_id, item.id, ",".join(item.rcpt_tos))
        elif result.outcome is Outcome.TEMPORARY and (retry := next_attempt(item, now, self.settings.outbound)):
            item.status, item.next_attempt_at, item.last_error = OutboxStatus.PENDING, retry, result.detail
            # One line per outage, not one per item and try; an error, so `gateway status` shows the outage.
            if result.connection_error and not self._outage:
                log.error("mid=%s outbox=%s relay unreachable, mail waits (next try %s): %s", item.message_id,
                          item.id, retry.isoformat(timespec="seconds"), result.detail)
            elif not result.connection_error:
                log.warning("mid=%s outbox=%s deferred until %s: %s", item.message_id, item.id,
                            retry.isoformat(timespec="seconds"), result.detail)
            self._outage = self._outage or result.connection_error
        else:
            item.status, item.last_error = OutboxStatus.FAILED, result.detail
            why = "expired after retries" if result.outcome is Outcome.TEMPORARY else "refused"
            log.error("mid=%s outbox=%s failed (%s): %s", item.message_id, item.id, why, result.detail)
            # The relay refusing a recipient for good is a hard bounce, as a delivery report would be.
            dead = refused_recipients(item.rcpt_tos, result.detail) if result.outcome is Outcome.PERMANENT else ()
            if record_hard_bounces(tx, dead, now):
                log.info("mid=%s outbox=%s hard bounce recorded for %s", item.message_id, item.id, ", ".join(dead))
            if item.conversation_id is not None:
                tx.add(Note(conversation_id=item.conversation_id, created_at=now, kind="delivery_failed",
                            body=f"Delivery of {item.message_id} to {', '.join(item.rcpt_tos)} {why}: "
                                 f"{result.detail}"))
        tx.add(item)
