"""The SQLModel tables: raw mail, messages, conversations, customers, agents, outbox, notes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class RawState(StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"
    # An admin dropped it from the quarantine: the row stays, with who and when in `reason`.
    DROPPED = "dropped"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class Status(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"  # an admin stopped it (`gateway queue cancel`); the row stays
    BOUNCED = "bounced"  # the relay took it, and then a delivery report said it never arrived


def empty_list() -> list:  # type: ignore[type-arg]
    # A Python function, not `list`: pydantic inspects a default factory's signature on every new row, and a
    # builtin's signature takes 15 times longer to inspect (0.4 ms per Message before this).
    return []


def _enum(length: int = 20) -> Column:  # type: ignore[type-arg]
    return Column(String(length), nullable=False, index=True)


class RawMessage(SQLModel, table=True):
    """Exactly the bytes and envelope we accepted; the first thing stored, never changed (retention only
    removes the bytes, after [storage] keep_raw)."""

    __tablename__ = "raw_message"
    __table_args__ = (Index("ix_raw_message_received", "received_at"), Index("ix_raw_message_spool", "spool"))
    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime
    source: str = Field(sa_type=String(10))
    # None: the way in did not say (a pipe without --from); "" is the null sender of bounces.
    mail_from: str | None = Field(default=None, sa_type=String(998))
    rcpt_tos: list[str] = Field(default_factory=empty_list, sa_type=JSON)
    peer: str = Field(default="", sa_type=String(200))
    size: int = 0
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # With [storage] raw = "files": the SHA-256 naming the file that holds the bytes (`raw` is then empty).
    spool: str = Field(default="", sa_type=String(64))
    # When retention removed the bytes; the message's text, headers and attachment names stay in `message`.
    purged_at: datetime | None = None
    state: str = Field(default=RawState.RECEIVED, sa_column=_enum())
    stage: str | None = Field(default=None, sa_type=String(20))
    reason: str | None = Field(default=None, sa_type=Text)
    processed_at: datetime | None = None


class Customer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    address: str = Field(sa_type=String(320), unique=True)
    name: str = Field(default="", sa_type=String(200))
    partner: bool = False
    created_at: datetime
    # The last hard bounce of mail to this address: no automatic mail goes to it for a while.
    bounced_at: datetime | None = None
    # When automatic mail to this address last hit the circuit breaker (admins are told once per trip).
    breaker_tripped_at: datetime | None = None
    # When they asked for no more satisfaction surveys (support itself is never affected).
    surveys_opted_out_at: datetime | None = None


class Agent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    address: str = Field(sa_type=String(320), unique=True)
    name: str = Field(default="", sa_type=String(200))
    tier: int = 1
    created_at: datetime | None = None
    # Removed agents stay as rows: their past replies and notes still name them.
    active: bool = True


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Conversation(SQLModel, table=True):
    __table_args__ = (Index("ix_conversation_customer_status", "customer_id", "status"),
                      Index("ix_conversation_channel_created", "channel", "created_at"))
    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(sa_type=String(16), unique=True)
    subject: str = Field(default="", sa_type=Text)
    subject_key: str = Field(default="", sa_type=String(200), index=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    channel: str = Field(sa_type=String(320))
    status: str = Field(default=Status.OPEN, sa_column=_enum())
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    linked_to_id: int | None = Field(default=None, foreign_key="conversation.id")
    # Set when merged: later mail for this conversation goes to that one.
    merged_into_id: int | None = Field(default=None, foreign_key="conversation.id")
    priority: str = Field(default=Priority.NORMAL, sa_type=String(10))
    tags: list[str] = Field(default_factory=empty_list, sa_type=JSON)
    assignee_id: int | None = Field(default=None, foreign_key="agent.id", index=True)
    no_survey: bool = False
    # The language the customer wrote in (an ISO 639-1 code among [autoreply] languages); our mail uses it.
    language: str = Field(default="", sa_type=String(8))


class Participant(SQLModel, table=True):
    """An address that has been on a conversation; the stranger guard asks this table."""

    __table_args__ = (UniqueConstraint("conversation_id", "address"),)
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id")
    address: str = Field(sa_type=String(320), index=True)


class Message(SQLModel, table=True):
    """One parsed mail in or out; `message_key` (normalised Message-ID or content hash) is unique."""

    # Reports count messages from this index alone, never reading a message's text.
    __table_args__ = (Index("ix_message_report", "conversation_id", "direction", "kind", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    raw_id: int | None = Field(default=None, foreign_key="raw_message.id")
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id", index=True)
    message_key: str = Field(sa_type=String(1000), unique=True)
    message_id: str = Field(default="", sa_type=String(1000))
    direction: str = Field(sa_type=String(3))
    kind: str = Field(sa_type=String(20))
    sender: str = Field(default="", sa_type=String(320), index=True)
    sender_name: str = Field(default="", sa_type=String(200))
    recipients: list[str] = Field(default_factory=empty_list, sa_type=JSON)
    subject: str = Field(default="", sa_type=Text)
    text: str = Field(default="", sa_type=Text)
    sent_at: datetime | None = None
    created_at: datetime
    matched_by: str | None = Field(default=None, sa_type=String(20))
    content_hash: str = Field(default="", sa_type=String(64), index=True)
    in_reply_to: str = Field(default="", sa_type=String(1000))
    references: list[str] = Field(default_factory=empty_list, sa_type=JSON)
    defects: list[str] = Field(default_factory=empty_list, sa_type=JSON)
    attachments: list[dict[str, str | int]] = Field(default_factory=empty_list, sa_type=JSON)
    # The agent who wrote it (a reply in) or was sent it (a notification out).
    agent_id: int | None = Field(default=None, foreign_key="agent.id", index=True)
    # What reply stripping cut from an agent's mail, kept so a bad cut can be seen and undone.
    stripped: str = Field(default="", sa_type=Text)


class OutboxItem(SQLModel, table=True):
    """A fully rendered mail waiting for the relay; a retry sends these exact bytes."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),
                      Index("ix_outbox_recipient_created", "recipient", "created_at"),
                      Index("ix_outbox_created", "created_at"))
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id", index=True)
    kind: str = Field(sa_type=String(20))
    message_id: str = Field(sa_type=String(1000), unique=True)
    # The first recipient, lower-cased, and whether no person wrote it: rate limits count by these.
    recipient: str = Field(default="", sa_type=String(320))
    automatic: bool = False
    # The template it was rendered from, for `gateway templates stats`.
    template: str = Field(default="", sa_type=String(100))
    mail_from: str = Field(default="", sa_type=String(998))
    rcpt_tos: list[str] = Field(default_factory=empty_list, sa_type=JSON)
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status: str = Field(default=OutboxStatus.PENDING, sa_type=String(10))
    attempts: int = 0
    created_at: datetime
    next_attempt_at: datetime
    expires_at: datetime
    lease_until: datetime | None = None
    sent_at: datetime | None = None
    last_error: str | None = Field(default=None, sa_type=Text)


class Note(SQLModel, table=True):
    """Something internal recorded on a conversation (delivery problems, system events)."""

    __table_args__ = (Index("ix_note_kind_created", "kind", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    created_at: datetime
    kind: str = Field(sa_type=String(20))
    body: str = Field(sa_type=Text)
    author: str = Field(default="", sa_type=String(320))


class ScheduledState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    CANCELLED = "cancelled"


class Scheduled(SQLModel, table=True):
    """Work due at a time (a held reply's expiry, later surveys); the scheduler claims due rows."""

    __table_args__ = (Index("ix_scheduled_due", "state", "due_at"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_type=String(20))
    state: str = Field(default=ScheduledState.PENDING, sa_type=String(10))
    due_at: datetime
    created_at: datetime
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    message_pk: int | None = Field(default=None, foreign_key="message.id")
    agent_id: int | None = Field(default=None, foreign_key="agent.id")
    # A held reply exactly as it was decided (saved reply included), so #send sends what was held.
    text: str = Field(default="", sa_type=Text)
    html: str = Field(default="", sa_type=Text)


class SettingValue(SQLModel, table=True):
    """Values every instance must share, such as the generated token secret."""

    __tablename__ = "setting"
    key: str = Field(sa_type=String(100), primary_key=True)
    value: str = Field(sa_type=Text)


class MessageReference(SQLModel, table=True):
    """One id a message referred to (In-Reply-To/References), so later mail can find a shared ancestor."""

    __tablename__ = "message_reference"
    id: int | None = Field(default=None, primary_key=True)
    message_pk: int = Field(foreign_key="message.id", index=True)
    conversation_id: int = Field(foreign_key="conversation.id")
    ref: str = Field(sa_type=String(1000), index=True)


class IncidentKind(StrEnum):
    OUTAGE = "outage"
    MAINTENANCE = "maintenance"


class Incident(SQLModel, table=True):
    """A known problem or planned maintenance; auto-replies mention every open one."""

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(sa_type=Text)
    kind: str = Field(default=IncidentKind.OUTAGE, sa_type=String(20))
    # What customers are told beyond the title (the latest update).
    detail: str = Field(default="", sa_type=Text)
    opened_at: datetime
    updated_at: datetime
    # When it is expected to be over (maintenance window end, or an estimate); None: unknown.
    until: datetime | None = None
    resolved_at: datetime | None = Field(default=None, index=True)


class TemplateVersion(SQLModel, table=True):
    """One saved version of an admin's override of a shipped template; the highest version is in use."""

    __tablename__ = "template_version"
    __table_args__ = (UniqueConstraint("name", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=String(100), index=True)
    version: int
    subject: str = Field(default="", sa_type=Text)
    text: str = Field(sa_type=Text)
    html: str = Field(default="", sa_type=Text)
    created_at: datetime
    author: str = Field(default="", sa_type=String(320))
    comment: str = Field(default="", sa_type=Text)


class TemplateUse(SQLModel, table=True):
    """One use of a template or of a saved reply (`#template NAME`), for `gateway templates stats`."""

    __tablename__ = "template_use"
    __table_args__ = (Index("ix_template_use_used", "used_at"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=String(100))
    kind: str = Field(sa_type=String(20))  # "template" or "saved_reply"
    used_at: datetime
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id")


class ImapState(SQLModel, table=True):
    """How far one IMAP folder has been read: UIDs up to last_uid are stored, up to acted_uid also flagged,
    moved or deleted; `failed_uids` are messages the server would not return, tried again each pass."""

    __tablename__ = "imap_state"
    mailbox: str = Field(sa_type=String(500), primary_key=True)
    uidvalidity: int = Field(default=0, sa_type=BigInteger)
    last_uid: int = Field(default=0, sa_type=BigInteger)
    acted_uid: int = Field(default=0, sa_type=BigInteger)
    failed_uids: list[int] = Field(default_factory=empty_list, sa_type=JSON)
    updated_at: datetime


class Survey(SQLModel, table=True):
    """One satisfaction survey sent about a conversation (at most one each), and the customer's answer."""

    __table_args__ = (Index("ix_survey_customer_sent", "customer_id", "sent_at"),)
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", unique=True)
    customer_id: int = Field(foreign_key="customer.id")
    channel: str = Field(sa_type=String(320))
    # The agent who last answered the customer, for `gateway surveys stats --by-agent` only.
    agent_id: int | None = Field(default=None, foreign_key="agent.id")
    choices: int = 5
    message_id: str = Field(sa_type=String(1000), index=True)
    sent_at: datetime = Field(index=True)
    expires_at: datetime
    rating: int | None = None
    comment: str = Field(default="", sa_type=Text)
    rated_at: datetime | None = None
    rated_via: str = Field(default="", sa_type=String(10))  # "web" or "mail"


class KnownIssue(SQLModel, table=True):
    """A problem many customers write about, named by an admin; its conversations carry the name as a tag."""

    __tablename__ = "known_issue"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=String(50), unique=True)
    # When it became known: conversations opened later with this tag were about an already-known issue.
    created_at: datetime
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id")


class Heartbeat(SQLModel, table=True):
    """One gateway process as it last reported itself; `gateway status` reads these rows."""

    __table_args__ = (Index("ix_heartbeat_beat", "beat_at"),)
    id: int | None = Field(default=None, primary_key=True)
    host: str = Field(sa_type=String(255))
    pid: int
    role: str = Field(sa_type=String(20))  # "serve" (the SMTP listener) or "workers"
    detail: str = Field(default="", sa_type=String(200))
    started_at: datetime
    beat_at: datetime
    stopped_at: datetime | None = None
    # The newest ERROR logged by this process, so `gateway status` can say what last went wrong.
    last_error: str = Field(default="", sa_type=Text)
    last_error_at: datetime | None = None


class ImportCheckpoint(SQLModel, table=True):
    """How far `gateway import` got through one mailbox, committed with the mail it stored, so a rerun resumes."""

    __tablename__ = "import_checkpoint"
    source: str = Field(sa_type=String(1000), primary_key=True)
    position: int = 0
    total: int = 0
    updated_at: datetime
