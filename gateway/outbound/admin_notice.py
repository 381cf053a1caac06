"""Mail to the admins ([mail] admins) about something that needs a person, such as a tripped circuit breaker."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from gateway.actions import TellAdmins
from gateway.models import Conversation, Customer
from gateway.outbound.compose import Addressing, compose
from gateway.outbound.outbox import enqueue
from gateway.reply_token import make_message_id
from gateway.runtime import Runtime

log = logging.getLogger(__name__)


def queue_admin_notice(tx: Session, rt: Runtime, action: TellAdmins, conversation: Conversation,
                       customer: Customer, now: datetime) -> None:
    """One mail per admin; the customer row remembers the trip, so admins hear of it once."""
    customer.breaker_tripped_at = now
    settings = rt.settings
    if not settings.mail.admins:
        log.warning("conv=%s automatic mail to %s stopped (%d in an hour); no [mail] admins to tell",
                    conversation.ref, action.address, action.count)
        return
    for admin in settings.mail.admins:
        # Reply-To the admin: an answer must not come back to support@ as a customer's new conversation.
        addressing = Addressing(from_name=settings.mail.name, from_address=conversation.channel, to=("", admin),
                                reply_to=admin, message_id=make_message_id(rt.secret, conversation.ref,
                                                                           settings.mail.domain))
        variables = {"address": action.address, "count": action.count, "window": "an hour",
                     "ref": conversation.ref, "team": settings.mail.name}
        mail = compose(action.template, variables, addressing, now, automatic="auto-generated", tx=tx)
        enqueue(tx, mail, conversation=conversation, kind="admin_notice", mail_from=conversation.channel,
                settings=settings, now=now, template=mail.template)
    log.warning("conv=%s automatic mail to %s stopped (%d in an hour); admins told", conversation.ref,
                action.address, action.count)
