"""Scheduling follows a conversation's status: resolving it schedules its survey, reopening cancels it."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, select

from gateway.autoreply.hours import SupportHours
from gateway.config import Settings
from gateway.models import Conversation, Scheduled, ScheduledState, Status

log = logging.getLogger(__name__)
SURVEY = "survey"


def survey_due_at(resolved_at: datetime, settings: Settings, hours: SupportHours | None = None) -> datetime:
    """When the survey of a conversation resolved at `resolved_at` is due: the delay, in working time if asked."""
    delay = settings.surveys.delay
    if not settings.surveys.business_hours:
        return resolved_at + delay
    return (hours or SupportHours.from_settings(settings.hours)).add(resolved_at, delay)


def status_changed(tx: Session, conversation: Conversation, previous: str, settings: Settings, now: datetime,
                   hours: SupportHours | None = None) -> None:
    """Call after any change of `conversation.status` from `previous` (by mail, the CLI or a reopen): whatever
    survey was pending is cancelled, and a newly resolved conversation gets one due after the delay."""
    if conversation.status == previous:
        return
    pending = tx.exec(select(Scheduled).where(Scheduled.conversation_id == conversation.id,
                                              Scheduled.kind == SURVEY,
                                              Scheduled.state == ScheduledState.PENDING)).all()
    for row in pending:
        row.state = ScheduledState.CANCELLED
        log.info("conv=%s survey due %s cancelled: the conversation is %s", conversation.ref,
                 f"{row.due_at:%Y-%m-%d %H:%M}", conversation.status)
    if conversation.status != Status.RESOLVED or not settings.surveys.enabled:
        return
    due = survey_due_at(conversation.resolved_at or now, settings, hours)
    tx.add(Scheduled(kind=SURVEY, due_at=due, created_at=now, conversation_id=conversation.id))
    log.info("conv=%s survey due %s", conversation.ref, f"{due:%Y-%m-%d %H:%M} UTC")
